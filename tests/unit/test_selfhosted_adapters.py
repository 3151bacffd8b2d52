"""The protocol / backend fields on the four classes: documented, validated, no key needed for
self-hosted servers, the same rules followed by both adapters."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_qwen import ChatQwen, QwenEmbeddings
from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope import InvalidRequestError

VLLM = "http://localhost:8000/v1"

CLASSES: list[tuple[type[Any], dict[str, Any]]] = [
    (ChatQwen, {"model": "Qwen/Qwen3-8B"}),
    (Qwen, {"model": "Qwen/Qwen3-8B"}),
    (QwenEmbeddings, {"model": "Qwen/Qwen3-Embedding-0.6B"}),
    (QwenEmbedding, {"model_name": "Qwen/Qwen3-Embedding-0.6B"}),
]
IDS = [c.__name__ for c, _ in CLASSES]


def _settings(instance: Any) -> Any:
    from qwen_dashscope import ClientSettings

    return ClientSettings.check(**instance._connection())


@pytest.mark.parametrize(("cls", "init"), CLASSES, ids=IDS)
def test_a_self_hosted_server_needs_no_key(cls: type[Any], init: dict[str, Any]) -> None:
    instance = cls(base_url=VLLM, **init)
    settings = _settings(instance)
    assert (settings.protocol, settings.backend) == ("openai", "vllm")
    assert cls(base_url=VLLM, api_key="EMPTY", **init)  # the usual convention works too


@pytest.mark.parametrize(("cls", "init"), CLASSES, ids=IDS)
def test_the_fields_are_declared_and_documented(cls: type[Any], init: dict[str, Any]) -> None:
    fields = cls.model_fields
    assert {"protocol", "backend"} <= set(fields)
    instance = cls(base_url="http://gpu:9000/v1", backend="ollama", **init)
    assert instance.backend == "ollama"
    assert _settings(instance).backend == "ollama"
    source = (cls.__doc__ or "") + str(fields["backend"].description or "")
    import inspect

    source += inspect.getsource(cls)
    for name in ("vllm", "sglang", "ollama"):
        assert name in source


@pytest.mark.parametrize(("cls", "init"), CLASSES, ids=IDS)
@pytest.mark.parametrize(
    ("settings", "param"),
    [({"backend": "tgi"}, "backend"), ({"protocol": "grpc"}, "protocol")],
)
def test_bad_values_are_clear_errors(
    cls: type[Any], init: dict[str, Any], settings: dict[str, str], param: str
) -> None:
    with pytest.raises(ValueError, match=param) as info:
        cls(base_url=VLLM, **init, **settings)
    error = info.value
    cause = error if isinstance(error, InvalidRequestError) else error.__cause__
    if not isinstance(cause, InvalidRequestError):  # pydantic wraps the validator's error
        errors = getattr(error, "errors", list)()
        cause = (errors[0].get("ctx") or {}).get("error") if errors else None
    assert isinstance(cause, InvalidRequestError) and cause.param == param


@pytest.mark.parametrize(("cls", "init"), CLASSES[:2], ids=IDS[:2])
def test_compatible_mode_still_needs_the_dashscope_key(
    cls: type[Any], init: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="DASHSCOPE_API_KEY"):
        instance = cls(
            base_url="https://dashscope.aliyuncs.com/compatible-mode/v1", model="qwen-plus"
        )
        instance._client if hasattr(instance, "_client") else instance._get_client()


def test_a_dashscope_rule_is_not_applied_to_vllm() -> None:
    # JSON output while thinking: DashScope refuses it, vLLM constrains after </think>.
    fmt = {"type": "json_object"}
    for cls in (ChatQwen, Qwen):
        with pytest.raises(ValueError, match="response_format"):
            cls(model="qwen-plus", api_key="sk-x", enable_thinking=True, response_format=fmt)
        cls(model="Qwen/Qwen3-8B", base_url=VLLM, enable_thinking=True, response_format=fmt)


def test_the_key_of_the_environment_is_not_sent_to_a_self_hosted_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-dashscope-secret")
    llm = ChatQwen(model="Qwen/Qwen3-8B", base_url=VLLM)
    assert llm.api_key is not None  # LangChain reads the environment into the field...
    assert llm._client.settings.api_key is None  # ...but it never travels to vLLM
    assert Qwen(model="Qwen/Qwen3-8B", base_url=VLLM)._get_client().settings.api_key is None
