"""LangChain's standard integration tests for ChatQwen and QwenEmbeddings, on the emulator.

Every request goes over loopback HTTP to ``qwen_dashscope.testing.DashScopeEmulator``. The
plumbing tests (invoke, stream, batch, async, usage, stop, v1 output, events, image inputs,
Anthropic-style inputs, tool-message histories, model override, embeddings) run against the
emulator's default behaviour.

The tests that need a model's *judgement* (choosing to call a tool, filling a schema, JSON
mode, the agent loop, Unicode tool arguments) pass because the ``_scripted_replies`` fixture
below installs emulator rules (``emulator.when(...)``) that answer those tests' prompts the way a
model would: they check our plumbing, not a model. The same classes run against the real
service in ``tests/live/test_langchain_live.py``.

Feature flags (and the written reasons for those left off) are in ``tests/_langchain_features.py``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("langchain_tests")  # the dev extra
from langchain_core.messages import AIMessage
from langchain_tests.integration_tests import (
    ChatModelIntegrationTests,
    EmbeddingsIntegrationTests,
)

from langchain_qwen import ChatQwen, QwenEmbeddings
from qwen_dashscope.testing import DashScopeEmulator, RecordedRequest, Reply, ToolCall
from tests._calls import answer
from tests._langchain_features import MODEL, ChatQwenFeatures

# A 1x1 PNG: the image tests download a sample picture from GitHub, which the loopback-only
# socket guard forbids; they get these bytes instead (the emulator does not look at pixels).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)

JOKE = {
    "setup": "Why did the cat sit on the computer?",
    "punchline": "To keep an eye on the mouse.",
}


def _forced(name: str) -> Any:
    def predicate(req: RecordedRequest) -> bool:
        choice = req.parameters.get("tool_choice")
        return isinstance(choice, dict) and choice.get("function", {}).get("name") == name

    return predicate


def _asks(text: str, tool: str | None = None) -> Any:
    """The conversation's last message is a user message containing ``text``."""

    def predicate(req: RecordedRequest) -> bool:
        if not req.messages or req.messages[-1].get("role") != "user":
            return False
        if tool is not None and tool not in {t["function"]["name"] for t in req.tools}:
            return False
        return text in req.last_user_text

    return predicate


def _json_object(req: RecordedRequest) -> bool:
    return (req.parameters.get("response_format") or {}).get("type") == "json_object"


def install_rules(emu: DashScopeEmulator) -> None:
    """What a capable model would answer to the standard tests' prompts."""
    rules: list[tuple[Any, Reply]] = [
        (_asks("magic_function(3)", "magic_function"), _call("magic_function", {"input": 3})),
        (
            _asks("magic_function_no_args()", "magic_function_no_args"),
            _call("magic_function_no_args", {}),
        ),
        (
            _asks("Pirate greeting", "greeting_generator"),
            _call("greeting_generator", {"answer_style": "pirate"}),
        ),
        (_asks("Hello!", "magic_function"), _call("magic_function", {"input": 3})),
        (_forced("Joke"), _call("Joke", JOKE)),
        (_forced("JokeDict"), _call("JokeDict", JOKE)),
        (_forced("my_adder_tool"), _call("my_adder_tool", {"a": 3, "b": 4})),
        (_json_object, Reply.text(json.dumps(JOKE))),
        (
            _asks("weather in San Francisco", "get_weather"),
            _call("get_weather", {"location": "San Francisco, CA"}),
        ),
        (
            _asks("你好啊集团", "unicode_customer"),
            _call("unicode_customer", {"customer_name": "你好啊集团", "description": "科技公司"}),
        ),
        (
            _asks("こんにちは株式会社", "unicode_customer"),
            _call(
                "unicode_customer",
                {"customer_name": "こんにちは株式会社", "description": "日本の会社"},
            ),
        ),
    ]
    for predicate, reply in rules:
        emu.when(predicate, reply, times=None)


def _call(name: str, arguments: dict[str, Any]) -> Reply:
    return Reply.tool_calls([ToolCall(name, arguments)])


@pytest.fixture(autouse=True)
def _offline_image_download(monkeypatch: pytest.MonkeyPatch) -> None:
    real_get = httpx.get

    def fake_get(url: str, **kwargs: Any) -> httpx.Response:
        if url.startswith("https://raw.githubusercontent.com/"):
            return httpx.Response(200, content=PNG, request=httpx.Request("GET", url))
        return real_get(url, **kwargs)

    monkeypatch.setattr(httpx, "get", fake_get)


class TestChatQwenStandard(ChatQwenFeatures, ChatModelIntegrationTests):
    emu: DashScopeEmulator

    @pytest.fixture(autouse=True)
    def _scripted_replies(self, emulator: DashScopeEmulator) -> Iterator[None]:
        self.emu = emulator
        install_rules(emulator)
        yield

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "base_url": self.emu.base_url, "api_key": self.emu.api_key}

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {**self.chat_model_params, **extra}

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        llm = ChatQwen(**self._params(model="qwen-plus", enable_thinking=True))
        return answer(llm, "Why is the sky blue? Think first.", stream=stream)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        # The service reports prompt-cache hits in usage.prompt_tokens_details.cached_tokens.
        self.emu.enqueue(
            Reply.text("Cached answer.", usage={"prompt_tokens_details": {"cached_tokens": 4}})
        )
        prompt = "Hi again: answer with the same long instructions as in the previous request."
        message = answer(ChatQwen(**self._params(model="qwen-plus")), prompt, stream=stream)
        assert message.usage_metadata is not None
        assert message.usage_metadata.get("input_token_details", {}).get("cache_read") == 4
        return message


class TestQwenEmbeddingsStandard(EmbeddingsIntegrationTests):
    emu: DashScopeEmulator

    @pytest.fixture(autouse=True)
    def _emulator(self, emulator: DashScopeEmulator) -> None:
        self.emu = emulator

    @property
    def embeddings_class(self) -> type[QwenEmbeddings]:
        return QwenEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {
            "model": "text-embedding-v4",
            "dimensions": 256,
            "base_url": self.emu.base_url,
            "api_key": self.emu.api_key,
        }
