"""The Ray Data predictors without Ray: picklable config, no key in the pickle, columns."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from qwen_dashscope import InvalidRequestError
from qwen_dashscope.ray import ChatPredictor, EmbeddingPredictor
from qwen_dashscope.testing import DashScopeEmulator, Reply


def test_the_key_is_read_in_the_worker_not_pickled(emulator_env: DashScopeEmulator) -> None:
    predictor = ChatPredictor(model="qwen-plus", system_prompt="Classify.")
    blob = pickle.dumps(predictor)
    assert b"sk-emulator" not in blob
    explicit = pickle.dumps(ChatPredictor(model="qwen-plus", api_key="sk-explicit"))
    assert b"sk-explicit" in explicit  # passed explicitly: the user's choice
    worker = pickle.loads(blob)
    out = worker({"prompt": np.array(["好吃"], dtype=object)})
    assert list(out["text"]) == ["[emulator] 好吃"]
    assert pickle.loads(pickle.dumps(worker)).system_prompt == "Classify."  # still picklable
    worker.close()


def test_columns_for_a_dict_batch(emulator_env: DashScopeEmulator) -> None:
    emulator_env.when(
        lambda r: "FAIL" in r.last_user_text, Reply.error(400, "InvalidParameter", "no")
    )
    predictor = ChatPredictor(
        model="qwen-plus", output_column="label", parameters={"max_tokens": 8}
    )
    batch = {"id": np.arange(3), "prompt": np.array(["a", "FAIL", ""], dtype=object)}
    out = predictor(batch)
    assert list(out["id"]) == [0, 1, 2]
    assert list(out["label"]) == ["[emulator] a", None, None]
    assert out["total_tokens"].dtype == np.int64 and out["total_tokens"][0] > 0
    assert out["error"][0] is None and out["error"][1] == "BadRequestError: no"
    assert out["error"][2].startswith("InvalidRequestError: messages[0] (user) has no content")
    assert out["request_id"][0] and out["request_id"][2] is None
    assert emulator_env.requests[0].body["parameters"]["enable_thinking"] is False  # bulk rule
    predictor.close()


def test_embedding_columns(emulator_env: DashScopeEmulator) -> None:
    predictor = EmbeddingPredictor(dimensions=64, batch_size=2)
    out = predictor({"text": np.array(["萝卜", "土豆", "茄子"], dtype=object)})
    assert out["vector"].shape == (3, 64) and out["vector"].dtype == np.float32
    assert [r.endpoint for r in emulator_env.requests] == ["text-embedding", "text-embedding"]
    tokens = list(out["total_tokens"])  # a request's usage on its first row
    assert tokens[0] > 0 and tokens[1] == 0 and tokens[2] > 0
    predictor.close()


def test_bad_settings_fail_in_the_driver() -> None:
    with pytest.raises(InvalidRequestError):
        ChatPredictor(model="qwen-plus", parameters={"temperature": 5})
    with pytest.raises(InvalidRequestError):
        EmbeddingPredictor(batch_size=100)
    with pytest.raises(InvalidRequestError):
        ChatPredictor(max_concurrency=0)
    with pytest.raises(InvalidRequestError, match="no column 'prompt'"):
        ChatPredictor(api_key="k")({"text": np.array(["x"], dtype=object)})


def test_a_predictor_collected_inside_a_running_event_loop_still_closes_its_loop(
    emulator_env: DashScopeEmulator,
) -> None:
    """Its finalizer runs where it is collected, e.g. in async code or a notebook kernel's
    loop, where the thread cannot run the predictor's own loop: it used to raise there ("Cannot
    run the event loop while another loop is running") and leave the loop and pool open."""
    import asyncio
    import gc

    held = [ChatPredictor(model="qwen-plus")]
    assert list(held[0]({"prompt": np.array(["a"], dtype=object)})["text"]) == ["[emulator] a"]
    loop = held[0]._loop
    assert loop is not None and not loop.is_closed()

    async def drop() -> None:
        held.clear()  # the last reference: the finalizer runs now, inside this running loop
        gc.collect()

    asyncio.run(drop())
    assert loop.is_closed()
