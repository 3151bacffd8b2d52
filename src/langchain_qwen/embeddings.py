"""``QwenEmbeddings``: DashScope text embeddings (text-embedding-v1...v4) for LangChain, and
Qwen3-Embedding on self-hosted OpenAI-compatible servers (``/v1/embeddings``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import httpx
from langchain_core.embeddings import Embeddings
from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from qwen_dashscope import (
    BatchJob,
    BatchLimits,
    BulkOptions,
    ClientCache,
    ClientSettings,
    InvalidRequestError,
    check_embedding_batch_size,
    check_embedding_dimension,
    check_field,
    check_max_connections,
    check_model_endpoint,
    connection_options,
    refuse_unknown_keywords,
    region_beats_environment,
    reject_booleans,
)
from qwen_dashscope._jobs import batch_job, submit_embedding_batch
from qwen_dashscope._runner import RateLimiter, aembedding_rows, embedding_rows

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

    Self-hosted (vLLM, Ollama serving Qwen3-Embedding):
        .. code-block:: python

            # vllm serve Qwen/Qwen3-Embedding-0.6B --runner pooling
            local = QwenEmbeddings(model="Qwen/Qwen3-Embedding-0.6B",
                                   base_url="http://localhost:8000/v1",
                                   instruct="Given a web search query, retrieve passages")

    Batches are split to the model's limit (10 texts for v3/v4, 25 for v1/v2) and the
    vectors come back in input order; a ``batch_size`` above the limit is an error (the
    service would refuse it), never silently lowered. Errors are the typed ``qwen_dashscope``
    errors.
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
    base_url: str | None = Field(
        default_factory=from_env("DASHSCOPE_HTTP_BASE_URL", default=None), alias="api_base"
    )
    """Native API base; read from ``DASHSCOPE_HTTP_BASE_URL`` when not given."""
    region: str | None = None
    """Deployment region (``beijing`` default, ``singapore``, ``us``, ...)."""
    workspace: str | None = None
    """Model Studio workspace id."""
    protocol: str | None = None
    """``"native"`` or ``"openai"`` (``/embeddings``); None: inferred from ``base_url``."""
    backend: str | None = None
    """``"dashscope"``, ``"vllm"``, ``"sglang"``, ``"ollama"``, ``"llamacpp"``, ``"openai"`` or
    ``"auto"``; None: inferred from ``base_url`` (as for ``ChatQwen``)."""
    instruct: str | None = None
    """Task instruction for queries (``embed_query``): DashScope v4's ``instruct``; on the
    OpenAI protocol Qwen3-Embedding's ``Instruct: …\nQuery:`` prefix."""
    batch_size: int | None = None
    """Texts per request (None: the model's limit)."""
    max_concurrency: int = 4
    """Requests in flight at once: async calls always; sync calls when a rate limit or the
    progress bar is set (then in threads)."""
    requests_per_minute: float | None = None
    """Client-side pacing of embedding requests (DashScope throttles per minute)."""
    tokens_per_minute: float | None = None
    """Client-side pacing of embedded tokens per minute."""
    show_progress_bar: bool = False
    """A progress bar (tqdm when installed, else a log line) over the requests of a call."""
    timeout: Any = Field(default=None, alias="request_timeout")
    """Seconds (connect/read), ``(connect, read)``, an ``httpx.Timeout`` or a
    ``qwen_dashscope.Timeouts``."""
    max_retries: int = 2
    """Retries of failed requests (429, 5xx, connection errors)."""
    default_headers: dict[str, str] | None = None
    """Extra HTTP headers sent with every request."""
    max_connections: int | None = None
    """Most connections of the shared pool its requests use (default 1,000, the openai SDK's
    figure; beyond it calls wait for a free connection). Objects with the same value share one
    pool per process (sync) and per event loop (async). Not used for a client given as
    ``http_client`` / ``http_async_client``: those keep their own ``httpx.Limits``."""
    http_client: httpx.Client | None = Field(default=None, exclude=True)
    """An ``httpx.Client`` for sync requests."""
    http_async_client: httpx.AsyncClient | None = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` for async requests."""

    # The transport clients, rebuilt when the connection settings change.
    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)
    _limiter: tuple[tuple[Any, Any], RateLimiter] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _unknown_keywords(cls, values: Any) -> Any:
        """Keywords this class does not have are errors: there is nowhere to send them (a
        near miss such as ``dimension`` names the field it meant)."""
        if not isinstance(values, dict):
            return values
        reject_booleans(values)  # before pydantic turns True into 1
        region_beats_environment(values)
        known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
        extra = {k: v for k, v in values.items() if k not in known}
        refuse_unknown_keywords(extra, sorted(known), where="QwenEmbeddings")
        return values

    @field_validator("timeout", mode="before")
    @classmethod
    def _check_field(cls, value: Any, info: ValidationInfo) -> Any:
        return check_field(info.field_name or "", value)  # before pydantic coerces it

    @model_validator(mode="after")
    def _validate(self) -> Self:
        check_model_endpoint(self.model, "embedding")
        check_embedding_dimension(self.model, self.dimensions, param="dimensions")
        check_embedding_batch_size(self.model, self.batch_size, param="batch_size")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency={self.max_concurrency} must be >= 1")
        ClientSettings.check(**self._connection())
        self._bulk()  # the pacing fields, checked now
        check_max_connections(
            self.max_connections, injected=(self.http_client, self.http_async_client)
        )
        return self

    def _connection(self) -> dict[str, Any]:
        return connection_options(self)

    @property
    def _client(self) -> DashScopeClient:
        return self._clients.sync(self._connection(), self.http_client)

    @property
    def _async_client(self) -> AsyncDashScopeClient:
        return self._clients.async_(
            self._connection(), self.http_async_client, embedding_concurrency=self.max_concurrency
        )

    def _bulk(self) -> BulkOptions | None:
        """The runner's options when pacing or progress is asked for (else the plain path)."""
        if not (self.requests_per_minute or self.tokens_per_minute or self.show_progress_bar):
            return None
        return BulkOptions(
            max_concurrency=self.max_concurrency,
            requests_per_minute=self.requests_per_minute,
            tokens_per_minute=self.tokens_per_minute,
            row_retries=0,
            progress=self.show_progress_bar,
            stop_on_error=True,
            description="QwenEmbeddings",
        )

    def _rate_limiter(self) -> RateLimiter:
        """One limiter per instance and limits, so that successive calls share the pace."""
        key = (self.requests_per_minute, self.tokens_per_minute)
        if self._limiter is None or self._limiter[0] != key:
            self._limiter = (key, RateLimiter(*key))
        return self._limiter[1]

    def _options(self, text_type: str) -> dict[str, Any]:
        return {
            "model": self.model,
            "text_type": "query" if text_type == "query" else "document",
            "dimension": self.dimensions,
        }

    def _batch_size(self) -> int:
        return check_embedding_batch_size(self.model, self.batch_size, param="batch_size")

    def _embed(self, texts: list[str], text_type: str) -> list[list[float]]:
        if not texts:
            return []
        options = self._bulk()
        if options is not None:
            rows = embedding_rows(
                self._client,
                texts,
                options,
                batch_size=self._batch_size(),
                limiter=self._rate_limiter(),
                **self._options(text_type),
            )
            return [row.value for row in rows]
        result = self._client.embed(
            texts,
            model=self.model,
            text_type="query" if text_type == "query" else "document",
            dimension=self.dimensions,
            instruct=self.instruct if text_type == "query" else None,
            batch_size=self.batch_size,
        )
        return result.vectors

    async def _aembed(self, texts: list[str], text_type: str) -> list[list[float]]:
        if not texts:
            return []
        options = self._bulk()
        if options is not None:
            rows = await aembedding_rows(
                self._async_client,
                texts,
                options,
                batch_size=self._batch_size(),
                limiter=self._rate_limiter(),
                **self._options(text_type),
            )
            return [row.value for row in rows]
        result = await self._async_client.embed(
            texts,
            model=self.model,
            text_type="query" if text_type == "query" else "document",
            dimension=self.dimensions,
            instruct=self.instruct if text_type == "query" else None,
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
        """Embed documents as a DashScope Batch API job (half price, results within
        ``completion_window``); ``job.wait()`` returns a vector (or the row's exception) per
        text, in order. Submitting the same texts again returns the same job."""
        return submit_embedding_batch(
            self._client,
            _text_list(texts),
            model=self.model,
            dimensions=check_embedding_dimension(self.model, self.dimensions, param="dimensions"),
            completion_window=completion_window,
            metadata=metadata,
            jobs_dir=jobs_dir,
            dedup=dedup,
            limits=limits,
        )

    def batch_job(self, job_id: str, *, jobs_dir: str | None = None) -> BatchJob:
        """Re-attach to an embedding job from any process."""
        return batch_job(self._client, job_id, jobs_dir=jobs_dir)


def _text_list(texts: Iterable[str]) -> list[str]:
    if isinstance(texts, str):  # list("abc") would embed each character
        raise InvalidRequestError(
            "texts must be a list of strings, not one string: use embed_query(text) or "
            "embed_documents([text])",
            param="texts",
        )
    return list(texts)
