"""``QwenMultiModalEmbedding``: DashScope multimodal embeddings as a LlamaIndex
``MultiModalEmbedding`` (text and images in one vector space)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_index.core.base.embeddings.base import Embedding
from llama_index.core.bridge.pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
)
from llama_index.core.embeddings.multi_modal_base import MultiModalEmbedding
from llama_index.core.schema import ImageType

from qwen_dashscope import (
    DEFAULT_MULTIMODAL_EMBEDDING_MODEL,
    ClientCache,
    Timeouts,
    check_embedding_batch_size,
    check_embedding_dimension,
    check_model_endpoint,
    reject_booleans,
    resolve_api_key,
)

from ._settings import (
    EMBEDDING_ALIASES,
    ApiKeyField,
    BaseUrlField,
    DefaultHeadersField,
    MaxConnectionsField,
    MaxRetriesField,
    RegionField,
    TimeoutField,
    TransportMixin,
    WorkspaceField,
    sort_keywords,
    take_aliases,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["QwenMultiModalEmbedding"]


class QwenMultiModalEmbedding(TransportMixin, MultiModalEmbedding):
    """DashScope multimodal embeddings: texts and images in one vector space
    (``tongyi-embedding-vision-plus`` by default).

    Setup:
        ``pip install "qwen-dashscope[llama-index]"`` and set ``DASHSCOPE_API_KEY``.

    Instantiate:
        ```python
        from llama_index_qwen import QwenMultiModalEmbedding

        embed_model = QwenMultiModalEmbedding()  # or model_name="qwen3-vl-embedding"
        ```

    Embed:
        ```python
        vector = embed_model.get_image_embedding("photos/teapot.png")   # path, URL or BytesIO
        vectors = embed_model.get_image_embedding_batch(paths)           # batched
        vector = embed_model.get_text_embedding("a clay teapot")
        vector = await embed_model.aget_query_embedding("teapot")
        ```

    Multimodal index:
        ```python
        from llama_index.core.indices import MultiModalVectorStoreIndex

        index = MultiModalVectorStoreIndex.from_documents(
            documents, embed_model=embed_model, image_embed_model=embed_model
        )
        ```

    Local images are sent as data URIs; batches follow the model's limits (20 items, and 5
    images per request for qwen3-vl-embedding, 1 for multimodal-embedding-v1).
    """

    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)  # input holds the key

    model_name: str = Field(
        default=DEFAULT_MULTIMODAL_EMBEDDING_MODEL,
        description=(
            "The DashScope multimodal embedding model (tongyi-embedding-vision-plus, -flash, "
            "qwen3-vl-embedding, multimodal-embedding-v1)."
        ),
    )
    dimensions: int | None = Field(
        default=None,
        description="Vector size, for models that offer several (qwen3-vl-embedding).",
    )
    instruct: str | None = Field(default=None, description="Task instruction (DashScope).")
    api_key: ApiKeyField
    base_url: BaseUrlField
    region: RegionField
    workspace: WorkspaceField
    timeout: TimeoutField
    max_retries: MaxRetriesField
    default_headers: DefaultHeadersField
    max_connections: MaxConnectionsField

    _clients: ClientCache = PrivateAttr(default_factory=ClientCache)
    _http_client: httpx.Client | None = PrivateAttr(default=None)
    _async_http_client: httpx.AsyncClient | None = PrivateAttr(default=None)

    def __init__(
        self,
        model_name: str = DEFAULT_MULTIMODAL_EMBEDDING_MODEL,
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
        sort_keywords(kwargs, known, where="QwenMultiModalEmbedding", passthrough=None)
        check_model_endpoint(model_name, "multimodal-embedding", param="model_name")
        embed_batch_size = check_embedding_batch_size(
            model_name, embed_batch_size, param="embed_batch_size"
        )
        check_embedding_dimension(model_name, kwargs.get("dimensions"), param="dimensions")
        raw_key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        super().__init__(
            model_name=model_name,
            api_key=SecretStr(resolve_api_key(raw_key)),
            embed_batch_size=embed_batch_size,
            **kwargs,
        )
        self._check_connection(http_client, async_http_client)

    @field_validator("timeout")
    @classmethod
    def _check_timeout(cls, value: Any) -> Any:
        Timeouts.of(value)
        return value

    @classmethod
    def class_name(cls) -> str:
        return "qwen_multi_modal_embedding"

    def _options(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "dimension": self.dimensions,
            "instruct": self.instruct,
        }

    def _embed(self, contents: list[Any]) -> list[Embedding]:
        return self._get_client().embed_multimodal(contents, **self._options()).vectors

    async def _aembed(self, contents: list[Any]) -> list[Embedding]:
        return (await self._get_aclient().embed_multimodal(contents, **self._options())).vectors

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embed([{"text": query}])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aembed([{"text": query}]))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed([{"text": text}])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aembed([{"text": text}]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed([{"text": text} for text in texts])

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self._aembed([{"text": text} for text in texts])

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._embed([{"image": img_file_path}])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return (await self._aembed([{"image": img_file_path}]))[0]

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return self._embed([{"image": path} for path in img_file_paths])

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        return await self._aembed([{"image": path} for path in img_file_paths])
