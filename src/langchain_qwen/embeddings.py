"""``QwenEmbeddings``: DashScope text embeddings (text-embedding-v1...v4) for LangChain."""

from __future__ import annotations

import difflib
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
    ClientCache,
    ClientSettings,
    InvalidRequestError,
    check_embedding_batch_size,
    check_embedding_dimension,
    check_field,
    check_max_connections,
    connection_options,
    get_model_capabilities,
    reject_booleans,
    reject_credentials,
)

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

    @model_validator(mode="before")
    @classmethod
    def _unknown_keywords(cls, values: Any) -> Any:
        """Keywords this class does not have are errors: there is nowhere to send them (a
        near miss such as ``dimension`` names the field it meant)."""
        if not isinstance(values, dict):
            return values
        reject_booleans(values)  # before pydantic turns True into 1
        known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
        extra = {k: v for k, v in values.items() if k not in known}
        if extra:
            reject_credentials(extra, where="QwenEmbeddings")
            name = sorted(extra)[0]
            close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
            hint = f"did you mean {close[0]!r}?" if close else f"its fields are {sorted(known)}"
            raise InvalidRequestError(
                f"QwenEmbeddings got an unknown keyword {name!r}; {hint}", param=name
            )
        return values

    @field_validator("timeout", mode="before")
    @classmethod
    def _check_field(cls, value: Any, info: ValidationInfo) -> Any:
        return check_field(info.field_name or "", value)  # before pydantic coerces it

    @model_validator(mode="after")
    def _validate(self) -> Self:
        caps = get_model_capabilities(self.model)
        if caps.known and caps.endpoint != "embedding":
            raise InvalidRequestError(
                f"model={self.model!r} is a {caps.endpoint} model, not an embedding model; use "
                "e.g. text-embedding-v4",
                param="model",
            )
        check_embedding_dimension(self.model, self.dimensions, param="dimensions")
        check_embedding_batch_size(self.model, self.batch_size, param="batch_size")
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency={self.max_concurrency} must be >= 1")
        ClientSettings.check(**self._connection())
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
