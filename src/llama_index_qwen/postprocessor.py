"""``QwenRerank``: DashScope rerank as a LlamaIndex node postprocessor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, SecretStr
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from llama_index_instrumentation import get_dispatcher

from qwen_dashscope import (
    ClientCache,
    InvalidRequestError,
    RerankResult,
    check_model_endpoint,
    reject_booleans,
    resolve_api_key,
)

from ._settings import (
    ALIASES,
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

__all__ = ["DEFAULT_RERANK_MODEL", "QwenRerank"]

DEFAULT_RERANK_MODEL = "qwen3-rerank"

# llama-index-core re-exports it from llama_index_instrumentation (its own dependency).
dispatcher = get_dispatcher(__name__)


class QwenRerank(TransportMixin, BaseNodePostprocessor):
    """Rerank retrieved nodes with DashScope (``qwen3-rerank`` by default).

    Setup:
        ``pip install "qwen-dashscope[llama-index]"`` and set ``DASHSCOPE_API_KEY``
        (``region=`` / ``base_url=`` / ``DASHSCOPE_HTTP_BASE_URL`` as for ``Qwen``).

    Instantiate:
        ```python
        from llama_index_qwen import QwenRerank

        reranker = QwenRerank(top_n=3)  # model="qwen3-rerank"; gte-rerank-v2, qwen3-vl-rerank
        ```

    Query engine:
        ```python
        query_engine = index.as_query_engine(similarity_top_k=10, node_postprocessors=[reranker])
        response = query_engine.query("...")          # or await query_engine.aquery("...")
        ```

    Each returned ``NodeWithScore`` holds the given node (its metadata untouched) with
    ``score`` = the rerank ``relevance_score``, most relevant first. The framework's
    instrumentation sees ``ReRankStartEvent`` / ``ReRankEndEvent`` and a ``RERANKING``
    callback event, sync and async. Lists longer than the model's limits are sent in several
    requests and merged by score; a node over the model's token limit per document is refused
    (the service would silently truncate it).
    """

    model_config = ConfigDict(defer_build=True, hide_input_in_errors=True)  # input holds the key

    model: str = Field(
        default=DEFAULT_RERANK_MODEL,
        description="The DashScope rerank model (qwen3-rerank, gte-rerank-v2, qwen3-vl-rerank).",
    )
    top_n: int | None = Field(
        default=3, description="Nodes to return, most relevant first (None: all)."
    )
    instruct: str | None = Field(
        default=None, description="Task instruction (qwen3-rerank, qwen3-vl-rerank)."
    )
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
        model: str = DEFAULT_RERANK_MODEL,
        *,
        api_key: str | SecretStr | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        take_aliases(kwargs, ALIASES)
        model = kwargs.pop("model", None) or model
        if "api_key" in kwargs:
            api_key = kwargs.pop("api_key")
        reject_booleans(kwargs)  # before pydantic coerces
        known = set(type(self).model_fields) | {"model_name", "api_base", "request_timeout"}
        sort_keywords(kwargs, known, where="QwenRerank", passthrough=None)
        check_model_endpoint(model, "rerank")
        top_n = kwargs.get("top_n", 3)
        if top_n is not None and (not isinstance(top_n, int) or top_n < 1):
            raise InvalidRequestError(f"top_n={top_n!r} must be >= 1 (or None)", param="top_n")
        raw_key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        super().__init__(model=model, api_key=SecretStr(resolve_api_key(raw_key)), **kwargs)
        self._check_connection(http_client, async_http_client)

    @classmethod
    def class_name(cls) -> str:
        return "QwenRerank"

    def _options(self) -> dict[str, Any]:
        return {"model": self.model, "top_n": self.top_n, "instruct": self.instruct}

    def _start(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None
    ) -> tuple[str, list[str]]:
        dispatcher.event(
            ReRankStartEvent(
                query=query_bundle,
                nodes=nodes,
                top_n=self.top_n if self.top_n is not None else len(nodes),
                model_name=self.model,
            )
        )
        if query_bundle is None:
            raise ValueError("Missing query bundle in extra info.")
        texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
        return query_bundle.query_str, texts

    def _payload(self, nodes: list[NodeWithScore], query: str) -> dict[str, Any]:
        return {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: self.model,
            EventPayload.QUERY_STR: query,
            EventPayload.TOP_K: self.top_n,
        }

    @staticmethod
    def _ranked(nodes: list[NodeWithScore], result: RerankResult) -> list[NodeWithScore]:
        return [
            NodeWithScore(node=nodes[item.index].node, score=item.relevance_score)
            for item in result.results
        ]

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query, texts = self._start(nodes, query_bundle)
        ranked: list[NodeWithScore] = []
        if nodes:
            payload = self._payload(nodes, query)
            with self.callback_manager.event(CBEventType.RERANKING, payload=payload) as event:
                result = self._get_client().rerank(query, texts, **self._options())
                ranked = self._ranked(nodes, result)
                event.on_end(payload={EventPayload.NODES: ranked})
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        query, texts = self._start(nodes, query_bundle)
        ranked: list[NodeWithScore] = []
        if nodes:
            payload = self._payload(nodes, query)
            with self.callback_manager.event(CBEventType.RERANKING, payload=payload) as event:
                result = await self._get_aclient().rerank(query, texts, **self._options())
                ranked = self._ranked(nodes, result)
                event.on_end(payload={EventPayload.NODES: ranked})
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked
