"""The protocol and backend settings: inferred from base_url, validated, explicit wins."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qwen_dashscope import ClientSettings, InvalidRequestError
from qwen_dashscope._capabilities import get_model_capabilities
from qwen_dashscope._config import infer_backend, infer_protocol, resolve_endpoint
from qwen_dashscope._probe import clear_cache, detect_backend, server_root

DS = "https://dashscope.aliyuncs.com"
INTL = "https://dashscope-intl.aliyuncs.com"
LOCAL = "http://localhost:8000"


@pytest.mark.parametrize(
    ("url", "protocol"),
    [
        (DS + "/api/v1", "native"),
        (INTL + "/compatible-mode/v1", "openai"),
        (LOCAL + "/v1", "openai"),
        ("http://localhost:11434/v1/", "openai"),
        ("http://127.0.0.1:9/api/v1", "native"),
        ("https://proxy.example.com/qwen", "native"),
    ],
)
def test_the_protocol_is_inferred_from_the_path(url: str, protocol: str) -> None:
    assert infer_protocol(url) == protocol


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        (INTL + "/compatible-mode/v1", "dashscope"),
        ("http://127.0.0.1:5000/compatible-mode/v1", "dashscope"),  # the emulator
        ("http://localhost:11434/v1", "ollama"),
        ("http://gpu-box:30000/v1", "sglang"),
        ("http://gpu-box:8000/v1", "vllm"),
        ("http://gpu-box/v1", "vllm"),  # unknown: vLLM, the most common server
    ],
)
def test_the_backend_is_inferred_from_host_and_port(url: str, backend: str) -> None:
    assert infer_backend(url, "openai") == backend


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"base_url": LOCAL + "/v1"}, (LOCAL + "/v1", "openai", "vllm")),
        ({"base_url": LOCAL, "backend": "sglang"}, (LOCAL + "/v1", "openai", "sglang")),
        (
            {"region": "singapore", "protocol": "openai"},
            (INTL + "/compatible-mode/v1", "openai", "dashscope"),
        ),
        (
            {"base_url": DS, "protocol": "openai"},
            (DS + "/compatible-mode/v1", "openai", "dashscope"),
        ),
        (
            {"base_url": DS + "/compatible-mode/v1", "protocol": "native"},
            (DS + "/api/v1", "native", "dashscope"),
        ),
        ({"base_url": LOCAL + "/v1", "backend": "ollama"}, (LOCAL + "/v1", "openai", "ollama")),
        ({}, (DS + "/api/v1", "native", "dashscope")),
    ],
)
def test_resolve_endpoint(kwargs: dict[str, Any], expected: tuple[str, str, str]) -> None:
    assert resolve_endpoint(**kwargs) == expected


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"protocol": "grpc"}, "protocol"),
        ({"backend": "tgi"}, "backend"),
        ({"base_url": LOCAL + "/v1", "backend": "vllm", "protocol": "native"}, "backend"),
        ({"region": "singapore", "backend": "vllm"}, "region"),
        ({"base_url": DS + "/compatible-mode/v1", "backend": "vllm"}, "backend"),
    ],
)
def test_bad_settings_are_clear_errors(kwargs: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        ClientSettings.resolve(api_key="sk-x", **kwargs)
    assert info.value.param == param
    assert param in str(info.value)


def test_self_hosted_servers_need_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ClientSettings.resolve(base_url=LOCAL + "/v1")
    assert settings.api_key is None and settings.backend == "vllm"
    assert ClientSettings.resolve(base_url=LOCAL + "/v1", api_key="EMPTY").api_key
    # The DashScope key of the environment never travels to another server.
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-dashscope")
    assert ClientSettings.resolve(base_url=LOCAL + "/v1").api_key is None
    copied = ClientSettings.resolve(base_url=LOCAL + "/v1", api_key="sk-dashscope")
    assert copied.api_key is None  # LangChain copies the environment's key into api_key
    mine = ClientSettings.resolve(base_url=LOCAL + "/v1", api_key="token-abc")
    assert mine.api_key is not None and mine.api_key.get_secret_value() == "token-abc"


def test_compatible_mode_still_needs_a_key() -> None:
    with pytest.raises(InvalidRequestError) as info:
        ClientSettings.resolve(base_url=DS + "/compatible-mode/v1")
    assert info.value.param == "api_key"


def test_workspace_is_a_dashscope_setting() -> None:
    with pytest.raises(InvalidRequestError) as info:
        ClientSettings.resolve(base_url=LOCAL + "/v1", workspace="ws-1")
    assert info.value.param == "workspace"


def test_repr_names_protocol_and_backend() -> None:
    text = repr(ClientSettings.resolve(base_url="http://localhost:11434/v1"))
    assert "protocol='openai'" in text and "backend='ollama'" in text and "api_key=None" in text


def test_probe_order_and_cache() -> None:
    clear_cache()
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/get_model_info":
            return httpx.Response(200, json={"model_path": "Qwen/Qwen3-8B"})
        return httpx.Response(404, json={"detail": "Not Found"})

    transport = httpx.MockTransport(handler)
    url = "http://gpu-box:8000/v1"
    assert server_root(url) == "http://gpu-box:8000"
    assert detect_backend(url, transport=transport) == "sglang"
    assert seen == ["/api/version", "/get_model_info"]
    assert detect_backend(url, transport=transport) == "sglang"  # cached: no new request
    assert len(seen) == 2
    clear_cache()


def test_a_probe_that_reaches_nothing_is_not_cached() -> None:
    clear_cache()

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert detect_backend("http://down:1/v1", transport=httpx.MockTransport(handler)) == "vllm"
    ok = httpx.MockTransport(lambda r: httpx.Response(200, json={"version": "0.33.0"}))
    assert detect_backend("http://down:1/v1", transport=ok) == "ollama"
    clear_cache()


@pytest.mark.parametrize(
    ("name", "thinking", "endpoint"),
    [
        ("Qwen/Qwen3-8B", "hybrid", "text"),
        ("qwen3:8b", "hybrid", "text"),
        ("qwen3:latest", "hybrid", "text"),
        ("unsloth/Qwen3-8B-GGUF:Q4_K_M", "hybrid", "text"),
        ("Qwen/Qwen3-32B-AWQ", "hybrid", "text"),
        ("Qwen/Qwen3.5-27B", "hybrid", "multimodal"),
        ("qwen3.5:35b-a3b", "hybrid", "multimodal"),
        ("Qwen/Qwen3-30B-A3B-Instruct-2507-FP8", "none", "text"),
        ("Qwen/Qwen3-235B-A22B-Thinking-2507", "always", "text"),
        ("qwq:32b", "always", "text"),
        ("Qwen/Qwen3-VL-8B-Instruct", "none", "multimodal"),
        ("Qwen/Qwen3-Embedding-8B", "none", "embedding"),
        ("qwen3-embedding:8b", "none", "embedding"),
        ("Qwen/Qwen3-Reranker-4B", "none", "rerank"),
    ],
)
def test_open_weight_names_resolve_by_family(name: str, thinking: str, endpoint: str) -> None:
    caps = get_model_capabilities(name)
    assert caps.known
    assert (caps.thinking, caps.endpoint) == (thinking, endpoint)


def test_open_weight_names_can_be_overridden() -> None:
    from qwen_dashscope import ModelCapabilities, register_model
    from qwen_dashscope._capabilities import _OVERRIDES

    mine = ModelCapabilities(context_window=8_192, thinking="none")
    register_model("qwen3-8b", mine)
    try:
        assert get_model_capabilities("Qwen/Qwen3-8B") is mine  # by the normalized name
        assert get_model_capabilities("qwen3:8b") is mine
    finally:
        _OVERRIDES.pop("qwen3-8b")
