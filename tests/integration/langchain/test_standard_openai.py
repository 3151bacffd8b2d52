"""LangChain's standard integration suite for ChatQwen on the OpenAI protocol: DashScope's
compatible mode and a vLLM server (the emulator's flavours), with the same scripted replies
and feature flags (tests/_langchain_features.py, reasons for what is off written there) as
the native run in test_standard.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_tests")  # the dev extra
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests, EmbeddingsIntegrationTests

from langchain_qwen import ChatQwen, QwenEmbeddings
from qwen_dashscope import InvalidRequestError
from qwen_dashscope.testing import DashScopeEmulator, Reply
from tests._calls import answer
from tests._langchain_features import (
    VLLM_MODEL,
    VLLM_THINKING_MODEL,
    ChatQwenFeatures,
    ChatQwenVLLMFeatures,
)

# _offline_image_download is test_standard's autouse fixture (the image tests' download).
from .test_standard import MODEL, _offline_image_download, install_rules  # noqa: F401


class TestChatQwenCompatibleModeStandard(ChatQwenFeatures, ChatModelIntegrationTests):
    emu: DashScopeEmulator

    @pytest.fixture(autouse=True)
    def _scripted_replies(self, emulator: DashScopeEmulator) -> Iterator[None]:
        self.emu = emulator
        install_rules(emulator)
        yield

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "base_url": self.emu.compatible_base_url,
            "api_key": self.emu.api_key,
        }

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {**self.chat_model_params, **extra}

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        llm = ChatQwen(**self._params(model="qwen-plus", enable_thinking=True))
        return answer(llm, "Why is the sky blue? Think first.", stream=stream)

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        self.emu.enqueue(
            Reply.text("Cached answer.", usage={"prompt_tokens_details": {"cached_tokens": 4}})
        )
        prompt = "Hi again: answer with the same long instructions as in the previous request."
        message = answer(ChatQwen(**self._params(model="qwen-plus")), prompt, stream=stream)
        assert message.usage_metadata is not None
        assert message.usage_metadata.get("input_token_details", {}).get("cache_read") == 4
        return message


class TestChatQwenVLLMStandard(ChatQwenVLLMFeatures, ChatModelIntegrationTests):
    emu: DashScopeEmulator

    @pytest.fixture(autouse=True)
    def _scripted_replies(self, flavoured: Callable[[str], DashScopeEmulator]) -> Iterator[None]:
        self.emu = flavoured("vllm")
        install_rules(self.emu)
        yield

    @property
    def chat_model_params(self) -> dict[str, Any]:
        # No key: a vLLM server launched without --api-key.
        return {"model": VLLM_MODEL, "base_url": self.emu.base_url}

    def _params(self, **extra: Any) -> dict[str, Any]:
        return {**self.chat_model_params, **extra}

    # The reason is written in tests/_langchain_features.py (DashScope's explicit cache).
    @pytest.mark.xfail(
        reason="cache_control (DashScope's explicit cache) is refused on a self-hosted server",
        raises=InvalidRequestError,
        strict=True,
    )
    def test_anthropic_inputs(self, model: BaseChatModel) -> None:
        super().test_anthropic_inputs(model)

    def invoke_with_reasoning_output(self, *, stream: bool = False) -> AIMessage:
        llm = ChatQwen(**self._params(model=VLLM_THINKING_MODEL, enable_thinking=True))
        message = answer(llm, "Why is the sky blue? Think first.", stream=stream)
        assert message.additional_kwargs["reasoning_content"]
        return message

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        self.emu.enqueue(
            Reply.text("Cached answer.", usage={"prompt_tokens_details": {"cached_tokens": 4}})
        )
        prompt = "Hi again: answer with the same long instructions as in the previous request."
        message = answer(ChatQwen(**self._params()), prompt, stream=stream)
        assert message.usage_metadata is not None
        assert message.usage_metadata.get("input_token_details", {}).get("cache_read") == 4
        return message


class TestQwenEmbeddingsVLLMStandard(EmbeddingsIntegrationTests):
    emu: DashScopeEmulator

    @pytest.fixture(autouse=True)
    def _emulator(self, flavoured: Callable[[str], DashScopeEmulator]) -> None:
        self.emu = flavoured("vllm")

    @property
    def embeddings_class(self) -> type[QwenEmbeddings]:
        return QwenEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {
            "model": "Qwen/Qwen3-Embedding-0.6B",
            "dimensions": 256,
            "base_url": self.emu.base_url,
        }
