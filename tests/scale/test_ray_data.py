"""A real Ray Data run (local Ray, 2 actors) against the emulator: the same rows as the
in-process runner, a failing row in its ``error`` column, embeddings as a tensor column."""

from __future__ import annotations

import time

import pytest

from langchain_qwen import ChatQwen
from qwen_dashscope.testing import DashScopeEmulator, Reply

pytestmark = [
    pytest.mark.scale,
    # ray.data.context deprecations raise under filterwarnings=error (research notes §12)
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ROWS = 200


def test_chat_predictor_on_two_actors(
    ray_session: DashScopeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ray

    from qwen_dashscope.ray import ChatPredictor

    emu = ray_session
    emu.reset()
    emu.when(lambda r: "FAIL" in r.last_user_text, Reply.error(400, "InvalidParameter", "bad row"))
    prompts = [f"review {i}: {'FAIL' if i == 7 else 'good'}" for i in range(ROWS)]
    start = time.monotonic()
    ds = ray.data.from_items(
        [{"id": i, "prompt": p} for i, p in enumerate(prompts)], override_num_blocks=4
    )
    out = ds.map_batches(
        ChatPredictor,
        fn_constructor_kwargs={
            "model": "qwen-plus",
            "system_prompt": "Classify.",
            "max_concurrency": 8,
        },
        compute=ray.data.ActorPoolStrategy(size=2),
        batch_size=25,
        num_cpus=1,
    ).take_all()
    elapsed = time.monotonic() - start
    rows = sorted(out, key=lambda r: r["id"])
    assert len(rows) == ROWS
    assert rows[7]["error"] == "BadRequestError: bad row" and rows[7]["text"] is None
    assert {r["error"] for i, r in enumerate(rows) if i != 7} == {None}
    assert elapsed < 60

    monkeypatch.setenv("DASHSCOPE_API_KEY", emu.api_key or "sk-emulator")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", emu.base_url)
    in_process = ChatQwen(model="qwen-plus").batch(
        [[("system", "Classify."), ("human", p)] for p in prompts[:20]], return_exceptions=True
    )
    for row, message in zip(rows[:20], in_process, strict=True):
        if row["id"] == 7:
            continue
        assert row["text"] == message.content
        assert row["total_tokens"] == message.usage_metadata["total_tokens"]


def test_embedding_predictor_gives_a_tensor_column(ray_session: DashScopeEmulator) -> None:
    import ray

    from qwen_dashscope.ray import EmbeddingPredictor

    ray_session.reset()
    ds = ray.data.from_items([{"text": f"文本 {i}"} for i in range(40)], override_num_blocks=2)
    out = ds.map_batches(
        EmbeddingPredictor,
        fn_constructor_kwargs={"dimensions": 64},
        compute=ray.data.ActorPoolStrategy(size=2),
        batch_size=20,
        num_cpus=1,
    ).take_all()
    assert len(out) == 40 and all(len(r["vector"]) == 64 and r["error"] is None for r in out)
