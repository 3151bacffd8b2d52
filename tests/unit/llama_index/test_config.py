"""Construction, metadata, validation and secrecy of Qwen / QwenEmbedding (no network). (What
importing llama_index_qwen loads: tests/unit/test_imports.py.)"""

from __future__ import annotations

import json
import pickle

import pytest
from llama_index.core.llms import LLMMetadata

import llama_index_qwen
from llama_index_qwen import Qwen, QwenEmbedding
from qwen_dashscope import InvalidRequestError, Timeouts

KEY = "sk-very-secret-0123456789"


def test_public_surface() -> None:
    assert llama_index_qwen.__all__ == [
        "DEFAULT_EMBEDDING_MODEL",
        "DEFAULT_MODEL",
        "DEFAULT_RERANK_MODEL",
        "Qwen",
        "QwenEmbedding",
        "QwenMultiModalEmbedding",
        "QwenRerank",
    ]
    assert Qwen.class_name() == "qwen_llm"
    assert QwenEmbedding.class_name() == "qwen_embedding"


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    assert Qwen(model="qwen-max").api_key is not None
    assert QwenEmbedding().api_key is not None


@pytest.mark.parametrize("cls", [Qwen, QwenEmbedding])
def test_missing_key_is_a_clear_error(cls: type) -> None:
    with pytest.raises(InvalidRequestError, match="DASHSCOPE_API_KEY"):
        cls()


@pytest.mark.parametrize(
    ("cls", "bad"),
    [
        (Qwen, {"temperature": 5}),
        (Qwen, {"temperature": True}),
        (Qwen, {"temperature": "warm"}),
        (Qwen, {"region": "mars"}),
        (Qwen, {"model": "qwen-max", "enable_thinking": True}),
        (QwenEmbedding, {"dimensions": 7}),
        (QwenEmbedding, {"max_retries": -2}),
    ],
)
def test_key_never_in_a_construction_error(cls: type, bad: dict[str, object]) -> None:
    with pytest.raises(ValueError) as info:
        cls(api_key=KEY, **bad)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


@pytest.mark.parametrize(
    "obj",
    [
        lambda: Qwen(api_key=KEY, temperature=0.2),
        lambda: QwenEmbedding(api_key=KEY, dimensions=512),
    ],
)
def test_key_never_serialized_or_shown(obj: object) -> None:
    instance = obj()  # type: ignore[operator]
    dumped = instance.to_dict()
    assert "api_key" not in dumped
    assert KEY not in json.dumps(dumped)
    assert KEY not in instance.to_json()
    assert KEY not in repr(instance)
    assert KEY not in str(instance)
    assert KEY not in json.dumps(instance.to_payload(), default=str)
    assert KEY not in str(instance.model_dump())
    assert KEY not in instance.model_dump_json()
    # the key still works: it is only hidden
    assert instance.api_key.get_secret_value() == KEY
    assert KEY not in repr(instance._connection())


def test_key_not_in_pickles_of_dumps() -> None:
    llm = Qwen(api_key=KEY)
    assert KEY.encode() not in pickle.dumps(llm.to_dict())


def test_round_trip_through_to_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = Qwen(api_key=KEY, model="qwen-max", temperature=0.5, stop=["\n\n"], seed=7)
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-env")
    again = Qwen.from_dict(llm.to_dict())
    assert (again.model, again.temperature, again.stop, again.seed) == (
        "qwen-max",
        0.5,
        ["\n\n"],
        7,
    )
    assert again.api_key is not None
    assert again.api_key.get_secret_value() == "sk-from-env"


@pytest.mark.parametrize(
    ("model", "context_window", "num_output", "function_calling"),
    [
        ("qwen-plus", 131_072, 32_768, True),
        ("qwen-max", 32_768, 8_192, True),
        ("qwen3-max", 262_144, 65_536, True),
        ("qwen-flash", 1_000_000, 32_768, True),
        ("qwen-vl-plus", 131_072, 8_192, False),
        ("qwen-plus-2025-07-28", 131_072, 32_768, True),
    ],
)
def test_metadata_from_capability_table(
    model: str, context_window: int, num_output: int, function_calling: bool
) -> None:
    meta = Qwen(model=model, api_key=KEY).metadata
    assert isinstance(meta, LLMMetadata)
    assert meta.context_window == context_window
    assert meta.num_output == num_output
    assert meta.is_chat_model is True
    assert meta.is_function_calling_model is function_calling
    assert meta.model_name == model


def test_metadata_overrides() -> None:
    llm = Qwen(
        model="qwen-vl-plus",
        api_key=KEY,
        context_window=4096,
        is_function_calling_model=True,
        max_tokens=512,
    )
    meta = llm.metadata
    assert (meta.context_window, meta.num_output, meta.is_function_calling_model) == (
        4096,
        512,
        True,
    )


def test_max_tokens_default_sends_nothing() -> None:
    llm = Qwen(api_key=KEY)
    assert llm.max_tokens is None
    assert "max_tokens" not in llm._parameters()


def test_every_field_becomes_a_parameter() -> None:
    llm = Qwen(
        api_key=KEY,
        temperature=0.3,
        top_p=0.9,
        top_k=40,
        max_tokens=100,
        seed=42,
        stop=["END"],
        repetition_penalty=1.1,
        presence_penalty=0.5,
        enable_search=True,
        enable_thinking=False,
        thinking_budget=50,
        response_format={"type": "json_object"},
        additional_kwargs={"vl_high_resolution_images": True},
    )
    assert llm._request([], {"seed": 1, "temperature": 0.4}).parameters == {
        "temperature": 0.4,  # call kwargs override fields and additional_kwargs
        "top_p": 0.9,
        "top_k": 40,
        "max_tokens": 100,
        "seed": 1,
        "stop": ["END"],
        "repetition_penalty": 1.1,
        "presence_penalty": 0.5,
        "enable_search": True,
        "enable_thinking": False,
        "thinking_budget": 50,
        "response_format": {"type": "json_object"},
        "vl_high_resolution_images": True,
    }


def test_additional_kwargs_may_not_duplicate_a_field() -> None:
    with pytest.raises(ValueError, match="duplicates the 'temperature' field"):
        Qwen(api_key=KEY, additional_kwargs={"temperature": 0.4})


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"temperature": 2.0}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"seed": -1}, "seed"),
        ({"repetition_penalty": 0.0}, "repetition_penalty"),
        ({"presence_penalty": 3.0}, "presence_penalty"),
        ({"thinking_budget": 0}, "thinking_budget"),
        ({"stop": ["a", 1]}, "stop"),
        ({"stop": []}, "stop"),
        ({"additional_kwargs": {"response_format": {"type": "yaml"}}}, "response_format"),
        ({"region": "mars"}, "region"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"timeout": -1}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_bad_values_fail_at_construction(kwargs: dict[str, object], param: str) -> None:
    # a ValueError naming the parameter: ours (InvalidRequestError) or pydantic's type check
    with pytest.raises(ValueError, match=param) as info:
        Qwen(api_key=KEY, **kwargs)  # type: ignore[arg-type]
    if isinstance(info.value, InvalidRequestError):
        assert info.value.param == param


def test_timeout_accepts_seconds_or_timeouts() -> None:
    assert Qwen(api_key=KEY, timeout=5).timeout == 5
    timeouts = Timeouts(connect=1, read=2, total=3)
    assert Qwen(api_key=KEY, timeout=timeouts).timeout == timeouts


@pytest.mark.parametrize(
    ("model", "limit"),
    [("text-embedding-v4", 10), ("text-embedding-v3", 10), ("text-embedding-v2", 25)],
)
def test_embedding_batch_size_defaults_to_model_limit(model: str, limit: int) -> None:
    assert QwenEmbedding(model_name=model, api_key=KEY).embed_batch_size == limit
    assert QwenEmbedding(model=model, api_key=KEY).model_name == model


def test_embedding_batch_size_over_the_limit_is_an_error() -> None:
    # The same rule as QwenEmbeddings(batch_size=...): nothing is silently lowered.
    with pytest.raises(InvalidRequestError, match="embed_batch_size=25") as info:
        QwenEmbedding(api_key=KEY, embed_batch_size=25)
    assert info.value.param == "embed_batch_size"
    assert "at most 10" in str(info.value)
    assert QwenEmbedding(api_key=KEY).embed_batch_size == 10
    assert QwenEmbedding(api_key=KEY, embed_batch_size=4).embed_batch_size == 4


def test_embedding_dimensions_checked() -> None:
    assert QwenEmbedding(api_key=KEY, dimensions=2048).dimensions == 2048
    with pytest.raises(InvalidRequestError, match="dimensions=100"):
        QwenEmbedding(api_key=KEY, dimensions=100)
    with pytest.raises(InvalidRequestError, match="dimensions=2048"):
        QwenEmbedding(model_name="text-embedding-v3", api_key=KEY, dimensions=2048)


# -- keywords: familiar aliases, typos, pass-through (the same rules as ChatQwen) ----------------


def test_other_integrations_spellings_are_accepted() -> None:
    llm = Qwen(api_key=KEY, model_name="qwen-max", api_base="https://dashscope-intl.aliyuncs.com")
    assert llm.model == "qwen-max"
    assert llm._get_client().base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert Qwen(dashscope_api_key=KEY).api_key.get_secret_value() == KEY  # type: ignore[union-attr]
    assert Qwen(api_key=KEY, request_timeout=7).timeout == 7
    with pytest.raises(InvalidRequestError, match="pass only model="):
        Qwen(api_key=KEY, model_name="a", model="b")


def test_every_chat_qwen_generation_parameter_is_a_qwen_field() -> None:
    from langchain_qwen import ChatQwen
    from qwen_dashscope import GENERATION_PARAMETERS

    assert set(GENERATION_PARAMETERS) <= set(Qwen.model_fields)
    assert set(GENERATION_PARAMETERS) <= set(ChatQwen.model_fields)
    llm = Qwen(
        api_key=KEY,
        search_options={"enable_source": True},
        response_format={"type": "json_object"},
        n=2,
        logprobs=True,
        top_logprobs=3,
    )
    assert llm._parameters() == {
        "search_options": {"enable_source": True},
        "response_format": {"type": "json_object"},
        "n": 2,
        "logprobs": True,
        "top_logprobs": 3,
    }


def test_a_typo_is_an_error_and_other_keywords_pass_through_with_a_warning() -> None:
    with pytest.raises(InvalidRequestError, match="did you mean 'temperature'"):
        Qwen(api_key=KEY, temprature=0.5)
    with pytest.warns(UserWarning, match="moved to additional_kwargs"):
        llm = Qwen(api_key=KEY, vl_high_resolution_images=True)
    assert llm.additional_kwargs == {"vl_high_resolution_images": True}
    with pytest.raises(InvalidRequestError, match="DASHSCOPE_API_KEY"):
        Qwen(api_key=KEY, openai_api_key="sk-other")


def test_embedding_keywords_are_checked() -> None:
    with pytest.raises(InvalidRequestError, match="did you mean 'dimensions'"):
        QwenEmbedding(api_key=KEY, dimension=512)
    with pytest.raises(InvalidRequestError, match="not an embedding model"):
        QwenEmbedding(api_key=KEY, model_name="qwen-plus")
    assert QwenEmbedding(api_key=KEY, model="text-embedding-v3").model_name == "text-embedding-v3"


def test_an_unknown_model_warns_that_its_metadata_are_defaults() -> None:
    llm = Qwen(api_key=KEY, model="qwen-trubo")
    with pytest.warns(UserWarning, match="did you mean 'qwen-turbo'"):
        metadata = llm.metadata
    assert metadata.context_window == 32_768


@pytest.mark.parametrize(
    "cls",
    [
        Qwen,
        QwenEmbedding,
        llama_index_qwen.QwenMultiModalEmbedding,
        llama_index_qwen.QwenRerank,
    ],
)
def test_every_class_declares_the_connection_fields_from_one_definition(cls: type) -> None:
    from typing import get_args

    from llama_index_qwen import _settings
    from qwen_dashscope import CONNECTION_FIELDS

    shared = {
        "api_key": _settings.ApiKeyField,
        "base_url": _settings.BaseUrlField,
        "region": _settings.RegionField,
        "workspace": _settings.WorkspaceField,
        "timeout": _settings.TimeoutField,
        "max_retries": _settings.MaxRetriesField,
        "default_headers": _settings.DefaultHeadersField,
        "max_connections": _settings.MaxConnectionsField,
        "protocol": _settings.ProtocolField,
        "backend": _settings.BackendField,
    }
    assert set(shared) == set(CONNECTION_FIELDS)
    # Rerank and multimodal embeddings exist on DashScope's native API only: no protocol switch.
    native_only = cls in (llama_index_qwen.QwenMultiModalEmbedding, llama_index_qwen.QwenRerank)
    for name in CONNECTION_FIELDS:
        if native_only and name in ("protocol", "backend"):
            assert name not in cls.model_fields  # type: ignore[attr-defined]
            continue
        declared = cls.model_fields[name]  # type: ignore[attr-defined]
        definition = get_args(shared[name])[1]
        assert (declared.description, declared.default) == (
            definition.description,
            definition.default,
        ), f"{cls.__name__}.{name}"
    assert cls.model_fields["api_key"].exclude is True  # type: ignore[attr-defined]
