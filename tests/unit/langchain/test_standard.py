"""LangChain's standard unit tests for ChatQwen and QwenEmbeddings (no network)."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("langchain_tests")  # the dev extra
pytest.importorskip("syrupy")  # the dev extra
from langchain_core.language_models import BaseChatModel
from langchain_tests.unit_tests import ChatModelUnitTests, EmbeddingsUnitTests
from syrupy.assertion import SnapshotAssertion

from langchain_qwen import ChatQwen, QwenEmbeddings


class TestChatQwenStandard(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatQwen]:
        return ChatQwen

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "qwen-plus"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "DASHSCOPE_API_KEY": "sk-from-env",
                "DASHSCOPE_HTTP_BASE_URL": "https://dashscope-intl.aliyuncs.com/api/v1",
            },
            {"model": "qwen-plus"},
            {
                "api_key": "sk-from-env",
                "base_url": "https://dashscope-intl.aliyuncs.com/api/v1",
            },
        )

    @property
    def model_override_value(self) -> str:
        return "qwen-turbo"

    # Expected failure, for reasons in langchain-core/langchain-tests, not in ChatQwen:
    # 1. the standard body calls `model.dict()`, deprecated in langchain-core 1.4.2, and this
    #    project runs pytest with filterwarnings=error;
    # 2. it then loads with allowed_objects="all", which in langchain-core 1.7 admits only the
    #    classes listed in langchain_core.load.mapping (no third-party class can be listed).
    # The same round trip, with `asdict()` and allowed_objects=[ChatQwen], passes in
    # tests/unit/langchain/test_config.py::test_serialization_round_trip, and the snapshot of
    # dumpd() is checked there too.
    @pytest.mark.xfail(
        reason="langchain-tests 1.1.9 test_serdes: deprecated BaseChatModel.dict() and "
        "allowed_objects='all' admits only langchain-core's own mapping",
        strict=True,
    )
    def test_serdes(self, model: BaseChatModel, snapshot: SnapshotAssertion) -> None:
        super().test_serdes(model, snapshot)


class TestQwenEmbeddingsStandard(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[QwenEmbeddings]:
        return QwenEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": "text-embedding-v4", "dimensions": 1024, "api_key": "test"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"DASHSCOPE_API_KEY": "sk-from-env"},
            {"model": "text-embedding-v3"},
            {"api_key": "sk-from-env", "model": "text-embedding-v3"},
        )
