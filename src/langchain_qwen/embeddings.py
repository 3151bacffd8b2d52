"""``QwenEmbeddings``: DashScope text embeddings (text-embedding-v1...v4) for LangChain."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import httpx
from langchain_core.embeddings import Embeddings
from langchain_core.utils import from_env, secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator
from typing_extensions import Self

from qwen_dashscope import (
    InvalidRequestError,
    Timeouts,
    check_embedding_dimension,
    get_model_capabilities,
    resolve_base_url,
)

from ._clients import AsyncCache, SyncCache, async_client, sync_client

if TYPE_CHECKING:
    from qwen_dashscope import AsyncDashScopeClient, DashScopeClient

__all__ = ["QwenEmbeddings"]


class QwenEmbeddings(BaseModel, Embeddings):
    """DashScope text embeddings (Model Studio ``text-embedding-v4`` by default).

    Setup:
        .. code-block:: bash

            pip install "qwen-dashscope[langchain]"
            export DASHSCOPE_API_KEY="sk-..."

    Instantiate:
        .. code-block:: python

            from langchain_qwen import QwenEmbeddings

            embeddings = QwenEmbeddings(dimensions=1024)   # model="text-embedding-v4"

    Embed:
        .. code-block:: python

            vector = embeddings.embed_query("萝卜炖土豆怎么做？")          # text_type="query"
            vectors = embeddings.embed_documents(["萝卜", "土豆", "茄子"])  # text_type="document"

    Async:
        .. code-block:: python

            vectors = await embeddings.aembed_documents(texts)   # batches run concurrently

    Batches are split to the model's limit (10 texts for v3/v4, 25 for v1/v2) and the
    vectors come back in input order. Errors are the typed ``qwen_dashscope`` errors.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        arbitrary_types_allowed=True,
        protected_namespaces=(),
        defer_build=True,  # schema built on first instantiation, not at import
        hide_input_in_errors=True,  # the constructor's input holds the API key
    )

    model: str = Field(default="text-embedding-v4", alias="model_name")
    """Embedding model: ``text-embedding-v4`` (default), ``-v3``, ``-v2``, ``-v1``."""
    dimensions: int | None = None
    """Vector size (DashScope ``dimension``): v4 2048/1536/1024/768/512/256/128/64, v3
    1024/768/512/256/128/64; v1/v2 are fixed at 1536. None: the model's default."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("DASHSCOPE_API_KEY", default=None),
        alias="dashscope_api_key",
    )
    """DashScope API key; read from ``DASHSCOPE_API_KEY`` when not given."""
    base_url: str | None = Field(default_factory=from_env("DASHSCOPE_HTTP_BASE_URL", default=None))
    """Native API base; read from ``DASHSCOPE_HTTP_BASE_URL`` when not given."""
    region: str | None = None
    """Deployment region (``beijing`` default, ``singapore``, ``us``, ...)."""
    workspace: str | None = None
    """Model Studio workspace id."""
    batch_size: int | None = None
    """Texts per request (None: the model's limit)."""
    max_concurrency: int = 4
    """Async only: batches in flight at once."""
    timeout: float | Timeouts | None = Field(default=None, alias="request_timeout")
    """Seconds (connect/read), or a ``qwen_dashscope.Timeouts``."""
    max_retries: int = 2
    """Retries of failed requests (429, 5xx, connection errors)."""
    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` for sync requests."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` for async requests."""

    # The transport clients, each with the settings it was built from (see ``_clients``).
    _sync_transport: SyncCache | None = PrivateAttr(default=None)
    _async_transport: AsyncCache | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _validate(self) -> Self:
        caps = get_model_capabilities(self.model)
        if caps.known and caps.endpoint != "embedding":
            raise ValueError(f"model={self.model!r} is not an embedding model")
        check_embedding_dimension(
            self.model, self.dimensions, param="dimensions"
        )  # a ValueError naming the sizes
        limit = caps.embedding_batch_size or 10
        if self.batch_size is not None and not 1 <= self.batch_size <= limit:
            raise ValueError(f"batch_size={self.batch_size} must be between 1 and {limit}")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency={self.max_concurrency} must be >= 1")
        resolve_base_url(self.base_url, self.region)
        Timeouts.of(self.timeout)
        if isinstance(self.max_retries, bool) or self.max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {self.max_retries!r}")
        return self

    @property
    def _client(self) -> DashScopeClient:
        self._sync_transport = sync_client(self, self._sync_transport)
        return self._sync_transport[1]

    @property
    def _async_client(self) -> AsyncDashScopeClient:
        self._async_transport = async_client(
            self, self._async_transport, embedding_concurrency=self.max_concurrency
        )
        return self._async_transport[1]

    def _embed(self, texts: list[str], text_type: str) -> list[list[float]]:
        if not texts:
            return []
        result = self._client.embed(
            texts,
            model=self.model,
            text_type="query" if text_type == "query" else "document",
            dimension=self.dimensions,
            batch_size=self.batch_size,
        )
        return result.vectors

    async def _aembed(self, texts: list[str], text_type: str) -> list[list[float]]:
        if not texts:
            return []
        result = await self._async_client.embed(
            texts,
            model=self.model,
            text_type="query" if text_type == "query" else "document",
            dimension=self.dimensions,
            batch_size=self.batch_size,
        )
        return result.vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents (``text_type="document"``), in input order."""
        return self._embed(_text_list(texts), "document")

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (``text_type="query"``)."""
        return self._embed([text], "query")[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents with concurrent batches (at most ``max_concurrency``)."""
        return await self._aembed(_text_list(texts), "document")

    async def aembed_query(self, text: str) -> list[float]:
        """Embed a search query."""
        return (await self._aembed([text], "query"))[0]


def _text_list(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):  # list("abc") would embed each character
        raise InvalidRequestError(
            "texts must be a list of strings, not one string: use embed_query(text) or "
            "embed_documents([text])",
            param="texts",
        )
    return list(texts)
