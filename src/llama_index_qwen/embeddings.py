"""``QwenEmbedding``: DashScope text embeddings as a LlamaIndex ``BaseEmbedding``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from qwen_dashscope import (
    BatchJob,
    BatchLimits,
    BulkOptions,
    ClientCache,
    check_embedding_batch_size,
    check_embedding_dimension,
    check_field,
    check_model_endpoint,
    reject_booleans,
)
from qwen_dashscope._jobs import batch_job, submit_embedding_batch
from qwen_dashscope._runner import RateLimiter, aembedding_rows, embedding_rows

from ._settings import (
    EMBEDDING_ALIASES,
    ApiKeyField,
    BackendField,
    BaseUrlField,
    DefaultHeadersField,
    MaxConnectionsField,
    MaxRetriesField,
    ProtocolField,
    RegionField,
    TimeoutField,
    TransportMixin,
    WorkspaceField,
    sort_keywords,
    take_aliases,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_EMBEDDING_MODEL", "QwenEmbedding"]

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDING_MODEL = "text-embedding-v4"


class QwenEmbedding(TransportMixin, BaseEmbedding):
    """DashScope text embeddings (``text-embedding-v4`` by default).

    Setup:
        ``pip install "qwen-dashscope[llama-index]"`` and set ``DASHSCOPE_API_KEY``
        (``region=`` / ``base_url=`` / ``DASHSCOPE_HTTP_BASE_URL`` as for ``Qwen``).

    Instantiate:
        ```python
        from llama_index_qwen import QwenEmbedding

        embed_model = QwenEmbedding(dimensions=1024)  # text-embedding-v4
        ```

    Embed:
        ```python
        vector = embed_model.get_query_embedding("Qwen 的上下文有多长？")   # text_type=query
        vectors = embed_model.get_text_embedding_batch(["doc one", "doc two"])  # document
        vector = await embed_model.aget_query_embedding("...")               # real async
        ```

    Self-hosted Qwen3-Embedding (vLLM, Ollama):
        ```python
        # vllm serve Qwen/Qwen3-Embedding-0.6B --runner pooling
        embed_model = QwenEmbedding("Qwen/Qwen3-Embedding-0.6B", base_url="http://localhost:8000/v1",
                                    instruct="Given a web search query, retrieve passages")
        ```
        ``instruct`` becomes Qwen3-Embedding's ``Instruct: …\nQuery:`` prefix of queries.

    RAG:
        ```python
        from llama_index.core import Settings, VectorStoreIndex

        Settings.embed_model = QwenEmbedding()
        index = VectorStoreIndex.from_documents(documents)
        ```

    Batching: DashScope takes at most 10 texts per request for v3/v4 and 25 for v1/v2.
    ``embed_batch_size`` defaults to that limit; a larger value is an error naming the limit
    (the service would refuse the batch), never silently lowered, as in ``QwenEmbeddings``.
    Vectors come back in input order; errors are raised as ``qwen_dashscope.DashScopeError``
    (never a ``None`` vector).
    """

    # The schema is built on first use, not at import (import cost).
    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)  # input holds the key

    model_name: str = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="The DashScope embedding model (text-embedding-v4, -v3, -v2, -v1).",
    )
    dimensions: int | None = Field(
        default=None,
        description="Vector size (DashScope 'dimension'; v4: 2048 ... 64, default 1024).",
    )
    instruct: str | None = Field(
        default=None,
        description="Task instruction sent with queries (v4 'instruct'; on the OpenAI "
        "protocol Qwen3-Embedding's 'Instruct: ...\\nQuery:' prefix).",
    )
    api_key: ApiKeyField
    base_url: BaseUrlField
    region: RegionField
    workspace: WorkspaceField
    protocol: ProtocolField
    backend: BackendField
    timeout: TimeoutField
    max_retries: MaxRetriesField
    max_concurrency: int = Field(
        default=4, description="Requests in flight at once when pacing (rate limits) is on."
    )
    requests_per_minute: float | None = Field(
        default=None, description="Client-side pacing of embedding requests per minute."
    )
    tokens_per_minute: float | None = Field(
        default=None, description="Client-side pacing of embedded tokens per minute."
    )
    default_headers: DefaultHeadersField
    max_connections: MaxConnectionsField

    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)
    _limiter: tuple[tuple[Any, Any], RateLimiter] | None = PrivateAttr(default=None)
    _http_client: httpx.Client | None = PrivateAttr(default=None)
    _async_http_client: httpx.AsyncClient | None = PrivateAttr(default=None)

    def __init__(
        self,
        model_name: str = DEFAULT_EMBEDDING_MODEL,
        *,
        api_key: str | SecretStr | None = None,
        embed_batch_size: int | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        take_aliases(kwargs, EMBEDDING_ALIASES)
        model_name = kwargs.pop("model_name", None) or model_name
        if "api_key" in kwargs:
            api_key = kwargs.pop("api_key")
        reject_booleans({**kwargs, "batch_size": embed_batch_size})  # before pydantic coerces
        known = set(type(self).model_fields) | {"model", "api_base", "request_timeout"}
        sort_keywords(kwargs, known, where="QwenEmbedding", passthrough=None)
        check_model_endpoint(model_name, "embedding", param="model_name")
        embed_batch_size = check_embedding_batch_size(
            model_name, embed_batch_size, param="embed_batch_size"
        )
        check_embedding_dimension(model_name, kwargs.get("dimensions"), param="dimensions")
        raw_key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        super().__init__(
            model_name=model_name,
            api_key=None if raw_key is None else SecretStr(raw_key),
            embed_batch_size=embed_batch_size,
            **kwargs,
        )
        self._check_connection(http_client, async_http_client)
        self._bulk()  # the pacing fields, checked now

    @field_validator("timeout", mode="before")
    @classmethod
    def _check_field(cls, value: Any, info: ValidationInfo) -> Any:
        return check_field(info.field_name or "", value)  # before pydantic coerces it

    @classmethod
    def class_name(cls) -> str:
        return "qwen_embedding"

    def _options(self, text_type: Literal["query", "document"]) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "text_type": text_type,
            "dimension": self.dimensions,
            "instruct": self.instruct if text_type == "query" else None,
        }

    def _bulk(self) -> BulkOptions | None:
        """The runner's options when pacing is asked for (else the plain path)."""
        if not (self.requests_per_minute or self.tokens_per_minute):
            return None
        return BulkOptions(
            max_concurrency=self.max_concurrency,
            requests_per_minute=self.requests_per_minute,
            tokens_per_minute=self.tokens_per_minute,
            row_retries=0,
            stop_on_error=True,
            description="QwenEmbedding",
        )

    def _rate_limiter(self) -> RateLimiter:
        """One limiter per instance and limits, so that successive calls share the pace."""
        key = (self.requests_per_minute, self.tokens_per_minute)
        if self._limiter is None or self._limiter[0] != key:
            self._limiter = (key, RateLimiter(*key))
        return self._limiter[1]

    def _embed(self, texts: list[str], text_type: Literal["query", "document"]) -> list[Embedding]:
        options = self._bulk()
        if options is not None:
            rows = embedding_rows(
                self._get_client(),
                texts,
                options,
                batch_size=self.embed_batch_size,
                limiter=self._rate_limiter(),
                **self._options(text_type),
            )
            return [row.value for row in rows]
        result = self._get_client().embed(texts, **self._options(text_type))
        return result.vectors

    async def _aembed(
        self, texts: list[str], text_type: Literal["query", "document"]
    ) -> list[Embedding]:
        options = self._bulk()
        if options is not None:
            rows = await aembedding_rows(
                self._get_aclient(),
                texts,
                options,
                batch_size=self.embed_batch_size,
                limiter=self._rate_limiter(),
                **self._options(text_type),
            )
            return [row.value for row in rows]
        result = await self._get_aclient().embed(texts, **self._options(text_type))
        return result.vectors

    def submit_batch(
        self,
        texts: list[str],
        *,
        completion_window: str = "24h",
        metadata: dict[str, str] | None = None,
        jobs_dir: str | None = None,
        dedup: bool = True,
        limits: BatchLimits | None = None,
    ) -> BatchJob:
        """Embed documents as a DashScope Batch API job (half price); ``job.wait()`` returns
        a vector (or the row's exception) per text, in order."""
        return submit_embedding_batch(
            self._get_client(),
            texts,
            model=self.model_name,
            dimensions=check_embedding_dimension(
                self.model_name, self.dimensions, param="dimensions"
            ),
            completion_window=completion_window,
            metadata=metadata,
            jobs_dir=jobs_dir,
            dedup=dedup,
            limits=limits,
        )

    def batch_job(self, job_id: str, *, jobs_dir: str | None = None) -> BatchJob:
        """Re-attach to an embedding job from any process."""
        return batch_job(self._get_client(), job_id, jobs_dir=jobs_dir)

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embed([query], "query")[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aembed([query], "query"))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed([text], "document")[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aembed([text], "document"))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed(texts, "document")

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self._aembed(texts, "document")
