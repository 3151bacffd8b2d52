"""``QwenRerank``: DashScope rerank (qwen3-rerank, gte-rerank-v2, qwen3-vl-rerank) as a
LangChain document compressor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import Document
from langchain_core.documents.compressor import BaseDocumentCompressor
from pydantic import Field, model_validator
from typing_extensions import Self

from qwen_dashscope import (
    InvalidRequestError,
    RerankResult,
    check_model_endpoint,
)

from ._connection import QwenConnection

__all__ = ["QwenRerank"]


class QwenRerank(QwenConnection, BaseDocumentCompressor):
    """Rerank retrieved documents with DashScope (``qwen3-rerank`` by default).

    Setup:
        .. code-block:: bash

            pip install "qwen-dashscope[langchain]"
            export DASHSCOPE_API_KEY="sk-..."

    Instantiate:
        .. code-block:: python

            from langchain_qwen import QwenRerank

            reranker = QwenRerank(top_n=3)   # model="qwen3-rerank"; gte-rerank-v2, qwen3-vl-rerank

    Rerank:
        .. code-block:: python

            docs = reranker.compress_documents(documents, "What is text reranking?")
            docs[0].metadata["relevance_score"]            # 0.0 ... 1.0, highest first
            docs = await reranker.acompress_documents(documents, query)

    Retriever:
        .. code-block:: python

            from langchain_classic.retrievers import ContextualCompressionRetriever

            retriever = ContextualCompressionRetriever(
                base_compressor=reranker, base_retriever=vector_store.as_retriever(k=20)
            )

    The returned documents are copies of the given ones (same ``id``, ``page_content`` and
    metadata) with ``relevance_score`` added to their metadata. A list longer than the
    model's limit (500 documents for qwen3-rerank, 100 for qwen3-vl-rerank, and a token
    budget per request) is sent in several requests and merged by score; a document over the
    model's token limit per document is refused (the service would silently truncate it).
    """

    model: str = Field(default="qwen3-rerank", alias="model_name")
    """Rerank model: ``qwen3-rerank`` (default), ``gte-rerank-v2``, ``qwen3-vl-rerank``."""
    top_n: int | None = 3
    """Documents to return (None: all, reordered)."""
    instruct: str | None = None
    """Task instruction (qwen3-rerank, qwen3-vl-rerank), e.g. "Retrieve semantically similar
    text."; the service's default is for web-search queries."""

    @model_validator(mode="after")
    def _validate(self) -> Self:
        check_model_endpoint(self.model, "rerank")
        if self.top_n is not None and self.top_n < 1:
            raise InvalidRequestError(f"top_n={self.top_n} must be >= 1 (or None)", param="top_n")
        self._check_connection()
        return self

    def _options(self) -> dict[str, Any]:
        return {"model": self.model, "top_n": self.top_n, "instruct": self.instruct}

    @staticmethod
    def _ranked(documents: Sequence[Document], result: RerankResult) -> list[Document]:
        return [
            documents[item.index].model_copy(
                update={
                    "metadata": {
                        **documents[item.index].metadata,
                        "relevance_score": item.relevance_score,
                    }
                }
            )
            for item in result.results
        ]

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,  # noqa: ARG002 (the interface's; none run)
    ) -> Sequence[Document]:
        """The ``top_n`` most relevant documents, most relevant first."""
        if not documents:
            return []
        texts = [doc.page_content for doc in documents]
        return self._ranked(documents, self._client.rerank(query, texts, **self._options()))

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,  # noqa: ARG002 (the interface's; none run)
    ) -> Sequence[Document]:
        """The ``top_n`` most relevant documents, most relevant first (real async)."""
        if not documents:
            return []
        texts = [doc.page_content for doc in documents]
        return self._ranked(
            documents, await self._async_client.rerank(query, texts, **self._options())
        )
