"""``QwenMultimodalEmbeddings``: DashScope multimodal embeddings (text and images in one
vector space) for LangChain."""

from __future__ import annotations

from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import Field, model_validator
from typing_extensions import Self

from qwen_dashscope import (
    DEFAULT_MULTIMODAL_EMBEDDING_MODEL,
    InvalidRequestError,
    check_embedding_batch_size,
    check_embedding_dimension,
    check_model_endpoint,
)

from ._connection import QwenConnection

__all__ = ["QwenMultimodalEmbeddings"]


class QwenMultimodalEmbeddings(QwenConnection, Embeddings):
    """DashScope multimodal embeddings: texts and images in one vector space
    (``tongyi-embedding-vision-plus`` by default).

    Setup:
        .. code-block:: bash

            pip install "qwen-dashscope[langchain]"
            export DASHSCOPE_API_KEY="sk-..."

    Instantiate:
        .. code-block:: python

            from langchain_qwen import QwenMultimodalEmbeddings

            embeddings = QwenMultimodalEmbeddings()  # or model="qwen3-vl-embedding"

    Embed:
        .. code-block:: python

            vectors = embeddings.embed_documents(["a clay teapot", "green tea leaves"])
            vector = embeddings.embed_query("teapot")
            images = embeddings.embed_image(["photos/teapot.png", "https://example.com/a.jpg"])
            images = await embeddings.aembed_image(uris)

    ``embed_image`` takes what LangChain's vector stores pass (Chroma's ``add_images``): local
    paths (sent as data URIs), ``file://`` URIs, http(s) URLs and data URIs. Requests are
    split to the model's limits (20 items per request, 5 images for qwen3-vl-embedding, 1 for
    multimodal-embedding-v1) and vectors come back in input order. Models: tongyi-embedding-
    vision-plus / -flash (fixed 1152 / 768 dimensions), qwen3-vl-embedding (2560 ... 256),
    multimodal-embedding-v1 (1024).
    """

    model: str = Field(default=DEFAULT_MULTIMODAL_EMBEDDING_MODEL, alias="model_name")
    """Multimodal embedding model: ``tongyi-embedding-vision-plus`` (default), ``-flash``,
    ``qwen3-vl-embedding``, ``multimodal-embedding-v1``."""
    dimensions: int | None = None
    """Vector size (DashScope ``dimension``), for models that offer several (qwen3-vl-embedding:
    2560, 2048, 1536, 1024, 768, 512, 256). None: the model's default."""
    instruct: str | None = None
    """Task instruction sent with every request (DashScope ``instruct``)."""
    batch_size: int | None = None
    """Items per request (None: the model's limit)."""
    max_concurrency: int = 4
    """Async only: requests in flight at once."""

    @model_validator(mode="after")
    def _validate(self) -> Self:
        check_model_endpoint(self.model, "multimodal-embedding")
        check_embedding_dimension(self.model, self.dimensions, param="dimensions")
        check_embedding_batch_size(self.model, self.batch_size, param="batch_size")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency={self.max_concurrency} must be >= 1")
        self._check_connection()
        return self

    def _client_extra(self) -> dict[str, Any]:
        return {"embedding_concurrency": self.max_concurrency}

    def _options(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dimension": self.dimensions,
            "instruct": self.instruct,
            "batch_size": self.batch_size,
        }

    def _embed(self, contents: list[Any]) -> list[list[float]]:
        if not contents:
            return []
        return self._client.embed_multimodal(contents, **self._options()).vectors

    async def _aembed(self, contents: list[Any]) -> list[list[float]]:
        if not contents:
            return []
        return (await self._async_client.embed_multimodal(contents, **self._options())).vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts, in input order."""
        return self._embed(_items(texts, "text", "texts"))

    def embed_query(self, text: str) -> list[float]:
        """Embed a query text."""
        return self._embed([{"text": text}])[0]

    def embed_image(self, uris: list[str]) -> list[list[float]]:
        """Embed images (local paths, ``file://`` URIs, http(s) URLs or data URIs)."""
        return self._embed(_items(uris, "image", "uris"))

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed texts with concurrent requests (at most ``max_concurrency``)."""
        return await self._aembed(_items(texts, "text", "texts"))

    async def aembed_query(self, text: str) -> list[float]:
        """Embed a query text."""
        return (await self._aembed([{"text": text}]))[0]

    async def aembed_image(self, uris: list[str]) -> list[list[float]]:
        """Embed images with concurrent requests (at most ``max_concurrency``)."""
        return await self._aembed(_items(uris, "image", "uris"))


def _items(values: Any, kind: str, param: str) -> list[dict[str, Any]]:
    if isinstance(values, (str, bytes)):  # list("abc") would embed each character
        raise InvalidRequestError(
            f"{param} must be a list, not one {type(values).__name__}: wrap it in [...]",
            param=param,
        )
    return [{kind: value} for value in values]
