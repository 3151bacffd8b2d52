"""The core's rules and native request bodies: validation, endpoint choice, content."""

from __future__ import annotations

from typing import Any

import pytest

from qwen_dashscope import (
    InvalidRequestError,
    chat_request,
    reject_booleans,
    resolve_chat,
    streams_internally,
    validate_parameters,
)
from qwen_dashscope._native import (
    GENERATION_PATHS,
    WireRequest,
    render_chat,
)
from qwen_dashscope._native import embedding_body as prepare_embedding
from qwen_dashscope._retrieval import rerank_plan
from qwen_dashscope._rules import embedding_batches


def prepare_generation(
    model: str,
    messages: list[dict[str, Any]],
    parameters: dict[str, Any] | None = None,
    *,
    stream: bool,
    endpoint: Any = None,
) -> WireRequest:
    """Wire-shaped input through the rules to the native request (what the clients do)."""
    request = chat_request(model, messages, parameters, endpoint=endpoint)
    return render_chat(resolve_chat(request, stream=stream))


USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"temperature": 2.0}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"top_p": 0}, "top_p"),
        ({"top_p": 1.01}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"repetition_penalty": 0}, "repetition_penalty"),
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**63}, "seed"),
        ({"n": 5}, "n"),
        ({"thinking_budget": 0}, "thinking_budget"),
        ({"top_logprobs": 6}, "top_logprobs"),
        ({"stop": ["a", 1]}, "stop"),
        ({"stop": []}, "stop"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": {"type": "json_object"}, "enable_thinking": True}, "response_format"),
    ],
)
def test_invalid_values_name_the_parameter(params: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        validate_parameters(params)
    assert info.value.param == param
    assert param in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"temperature": 0, "top_p": 1, "top_k": 0, "max_tokens": 1, "seed": 0},
        {"temperature": 1.99, "presence_penalty": -2, "repetition_penalty": 1.05},
        {"stop": "x"},
        {"stop": ["a", "b"]},
        {"stop": [1, 2]},
        {"stop": [[37763, 367]]},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}},
        {"unknown_new_parameter": 1},
    ],
)
def test_valid_values_pass(params: dict[str, Any]) -> None:
    validate_parameters(params)


def test_text_request_shape() -> None:
    prepared = prepare_generation(
        "qwen-plus", USER, {"temperature": 0.5, "top_p": None}, stream=False
    )
    assert prepared.path == GENERATION_PATHS["text"]
    assert prepared.body == {
        "model": "qwen-plus",
        "input": {"messages": USER},
        "parameters": {"temperature": 0.5, "result_format": "message"},
    }


def test_streams_are_incremental_by_default_and_cumulative_on_request() -> None:
    assert prepare_generation("qwen-plus", USER, stream=True).body["parameters"] == {
        "result_format": "message",
        "incremental_output": True,
    }
    prepared = prepare_generation("qwen-plus", USER, {"incremental_output": False}, stream=True)
    assert prepared.incremental is False
    assert prepared.body["parameters"]["incremental_output"] is False


def test_cumulative_streaming_is_refused_while_thinking() -> None:
    with pytest.raises(InvalidRequestError, match="incremental_output"):
        prepare_generation("qwq-plus", USER, {"incremental_output": False}, stream=True)


def test_text_lists_become_strings_on_the_text_endpoint() -> None:
    messages = [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]
    prepared = prepare_generation("qwen-plus", messages, stream=False)
    assert prepared.path == GENERATION_PATHS["text"]
    # Joined as given, with nothing in between (the rule both adapters share).
    assert prepared.body["input"]["messages"] == [{"role": "user", "content": "ab"}]


def test_images_go_to_the_multimodal_endpoint_as_content_lists() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"image": "https://x/y.png"}, {"text": "what?"}]},
        {"role": "assistant", "content": None, "tool_calls": []},
    ]
    prepared = prepare_generation("qwen-vl-max", messages, stream=True)
    assert prepared.path == GENERATION_PATHS["multimodal"]
    assert prepared.body["input"]["messages"] == [
        {"role": "system", "content": [{"text": "be brief"}]},
        {"role": "user", "content": [{"image": "https://x/y.png"}, {"text": "what?"}]},
        {"role": "assistant", "content": []},
    ]


def test_multimodal_models_use_the_multimodal_endpoint_even_for_text() -> None:
    prepared = prepare_generation("qwen3.5-plus", USER, stream=False)
    assert prepared.path == GENERATION_PATHS["multimodal"]
    assert prepared.body["input"]["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]


def test_images_on_a_text_only_model_are_refused() -> None:
    messages = [{"role": "user", "content": [{"image": "https://x/y.png"}]}]
    with pytest.raises(InvalidRequestError, match="vision model") as info:
        prepare_generation("qwen-max", messages, stream=False)
    assert info.value.param == "model"


def test_unknown_models_with_images_are_sent_to_the_multimodal_endpoint() -> None:
    messages = [{"role": "user", "content": [{"image": "https://x/y.png"}]}]
    prepared = prepare_generation("new-vl-thing", messages, stream=False)
    assert prepared.path == GENERATION_PATHS["multimodal"]


@pytest.mark.parametrize(
    ("model", "enable_thinking", "ok"),
    [
        ("qwen-max", True, False),  # never thinks
        ("qwen-max", False, True),
        ("qwq-plus", False, False),  # always thinks
        ("qwq-plus", True, True),
        ("qwen-plus", True, True),  # hybrid
        ("qwen-plus", False, True),
        ("some-future-model", True, True),  # unknown: the service decides
    ],
)
def test_thinking_is_checked_against_the_model(model: str, enable_thinking: bool, ok: bool) -> None:
    def prepare() -> object:
        return prepare_generation(model, USER, {"enable_thinking": enable_thinking}, stream=True)

    if ok:
        prepare()
        return
    with pytest.raises(InvalidRequestError, match=model) as info:
        prepare()
    assert info.value.param == "enable_thinking"


def test_a_tool_named_search_is_refused_before_sending() -> None:
    def tool(name: str) -> dict[str, Any]:
        return {"type": "function", "function": {"name": name, "parameters": {}}}

    prepare_generation("qwen-plus", USER, {"tools": [tool("web_lookup")]}, stream=False)
    with pytest.raises(InvalidRequestError, match="named 'search'") as info:
        prepare_generation("qwen-plus", USER, {"tools": [tool("a"), tool("search")]}, stream=True)
    assert info.value.param == "tools"


def test_booleans_for_numbers_are_caught_before_coercion() -> None:
    reject_booleans({"temperature": 0.5, "top_k": 3, "enable_search": True})  # fine
    with pytest.raises(InvalidRequestError) as info:
        reject_booleans({"top_k": True})
    assert info.value.param == "top_k"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"model": "", "messages": USER}, "model"),
        ({"model": "qwen-plus", "messages": []}, "messages"),
    ],
)
def test_empty_model_or_messages(kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        prepare_generation(**kwargs, stream=False)
    assert info.value.param == param


@pytest.mark.parametrize(
    ("model", "params", "expected"),
    [
        ("qwen-plus", {}, False),
        ("qwen-plus", {"enable_thinking": True}, False),  # non-stream thinking is allowed
        ("qwen3-235b-a22b", {}, True),  # open-source hybrids think by default, stream-only
        ("qwen3-235b-a22b", {"enable_thinking": False}, False),
        ("qwq-plus", {}, True),
        ("qvq-max", {}, True),
        ("qwen3-omni-flash", {"enable_thinking": False}, True),  # Omni only streams
        ("qwen-max", {}, False),
    ],
)
def test_which_calls_stream_internally(model: str, params: dict[str, Any], expected: bool) -> None:
    assert streams_internally(model, params) is expected


def test_embedding_body() -> None:
    body = prepare_embedding("text-embedding-v4", ["a", "b"], text_type="query", dimension=512)
    assert body == {
        "model": "text-embedding-v4",
        "input": {"texts": ["a", "b"]},
        "parameters": {"text_type": "query", "dimension": 512},
    }


def test_embedding_v2_never_sends_dimension() -> None:
    body = prepare_embedding("text-embedding-v2", ["a"], dimension=1536)
    assert body["parameters"] == {}


@pytest.mark.parametrize(
    ("texts", "kwargs", "param"),
    [
        ([], {}, "texts"),
        (["ok", " "], {}, "texts"),
        (["x"], {"dimension": 100}, "dimension"),
        (["x"], {"text_type": "passage"}, "text_type"),
    ],
)
def test_embedding_validation(texts: Any, kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        prepare_embedding("text-embedding-v4", texts, **kwargs)
    assert info.value.param == param


@pytest.mark.parametrize(
    ("texts", "batch_size", "param"),
    [("one string", None, "texts"), (["x"] * 3, 11, "batch_size"), (["x"], 0, "batch_size")],
)
def test_embedding_batches_are_checked(texts: Any, batch_size: Any, param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        embedding_batches(texts, "text-embedding-v4", batch_size)
    assert info.value.param == param


def test_embedding_batches_split_at_the_model_limit() -> None:
    batches = embedding_batches([f"t{i}" for i in range(23)], "text-embedding-v4", None)
    assert [(offset, len(batch)) for offset, batch in batches] == [(0, 10), (10, 10), (20, 3)]
    assert len(embedding_batches(["x"] * 30, "text-embedding-v2", None)) == 2


def test_rerank_body_and_validation() -> None:
    plan = rerank_plan("https://h/api/v1", "gte-rerank-v2", "q", ["a"], top_n=1)
    assert [call.body for call in plan.calls] == [
        {
            "model": "gte-rerank-v2",
            "input": {"query": "q", "documents": ["a"]},
            "parameters": {"top_n": 1},
        }
    ]
    with pytest.raises(InvalidRequestError, match="documents"):
        rerank_plan("https://h/api/v1", "qwen3-rerank", "q", [])
    with pytest.raises(InvalidRequestError, match="top_n"):
        rerank_plan("https://h/api/v1", "qwen3-rerank", "q", ["a"], top_n=0)


def test_a_model_of_another_endpoint_names_its_kind_and_one_to_use() -> None:
    from qwen_dashscope import check_model_endpoint

    with pytest.raises(InvalidRequestError) as caught:
        check_model_endpoint("text-embedding-v4", "rerank")
    assert str(caught.value).startswith(
        "model='text-embedding-v4' is an embedding model, not a rerank model; use e.g. qwen3-rerank"
    )
    with pytest.raises(InvalidRequestError) as caught:
        check_model_endpoint("qwen-plus", "embedding", param="model_name")
    assert caught.value.param == "model_name"
    assert "model_name='qwen-plus' is a text model, not an embedding model" in str(caught.value)
    assert check_model_endpoint("my-new-embedding", "embedding").known is False  # unknown: passes
