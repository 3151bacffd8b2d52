"""ChatQwen without the network: the public surface, construction, validation, secrets, tool
and schema binding. (What importing langchain_qwen loads: tests/unit/test_imports.py.)"""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from langchain_core._api.beta_decorator import LangChainBetaWarning
from langchain_core.load import dumpd, dumps, load
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableBinding, RunnableSequence
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, SecretStr, ValidationError

import langchain_qwen
from langchain_qwen import ChatQwen, QwenEmbeddings
from tests._wire import langchain_wire as _wire

KEY = "sk-very-secret-0123456789"


class Weather(BaseModel):
    """Weather of a city."""

    city: str


def get_time(zone: str) -> str:
    """Current time in a time zone."""
    return "12:00"


# ---------------------------------------------------------------------------- construction


def test_public_surface() -> None:
    assert langchain_qwen.__all__ == [
        "ChatQwen",
        "QwenEmbeddings",
        "QwenMultimodalEmbeddings",
        "QwenRerank",
    ]
    for name in langchain_qwen.__all__:
        assert getattr(langchain_qwen, name).__module__.startswith("langchain_qwen.")


def test_aliases_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "https://dashscope-intl.aliyuncs.com/api/v1")
    llm = ChatQwen(model_name="qwen-turbo", request_timeout=30)
    assert llm.model == "qwen-turbo"
    assert llm.timeout == 30
    assert isinstance(llm.api_key, SecretStr)
    assert llm.api_key.get_secret_value() == KEY
    assert llm.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    other = ChatQwen(dashscope_api_key="sk-other", stop_sequences=["\n"])
    assert other.api_key is not None and other.api_key.get_secret_value() == "sk-other"
    assert other.stop == ["\n"]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"temperature": 2.0}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"top_k": -1}, "top_k"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"seed": -1}, "seed"),
        ({"repetition_penalty": 0.0}, "repetition_penalty"),
        ({"presence_penalty": 2.5}, "presence_penalty"),
        ({"thinking_budget": 0}, "thinking_budget"),
        ({"stop": [1, "x"]}, "stop"),
        ({"response_format": {"type": "yaml"}}, "response_format"),
        ({"model_kwargs": {"n": 9}}, "n"),
        ({"model_kwargs": {"top_logprobs": 6}}, "top_logprobs"),
        ({"timeout": -1}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"region": "mars"}, "region"),
        ({"region": "singapore", "base_url": "https://x.example.com"}, "base_url"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"enable_thinking": True, "model": "qwen-max"}, "enable_thinking"),
        ({"enable_thinking": False, "model": "qwq-plus"}, "enable_thinking"),
        (
            {
                "model": "qwen-plus",
                "enable_thinking": True,
                "response_format": {"type": "json_object"},
            },
            "json_object",
        ),
    ],
)
def test_out_of_range_values_fail_at_construction(kwargs: dict[str, Any], parameter: str) -> None:
    with pytest.raises(ValueError, match=parameter):
        ChatQwen(api_key=KEY, **kwargs)


def test_model_kwargs_may_not_duplicate_a_field() -> None:
    with pytest.raises(ValueError, match="duplicates the 'temperature' field"):
        ChatQwen(model_kwargs={"temperature": 0.3})
    with pytest.raises(ValueError, match="duplicates the 'stop' field"):
        ChatQwen(model_kwargs={"stop_sequences": ["x"]})
    with pytest.raises(ValueError, match="result_format"):
        ChatQwen(model_kwargs={"result_format": "text"})


def test_unknown_keywords_move_to_model_kwargs_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="'vl_high_resolution_images' is not a ChatQwen field"):
        llm = ChatQwen(vl_high_resolution_images=True, model_kwargs={"enable_code_interpreter": 1})
    assert llm.model_kwargs == {"enable_code_interpreter": 1, "vl_high_resolution_images": True}


def test_a_typo_of_a_field_is_an_error_naming_the_field() -> None:
    with pytest.raises(ValueError, match="did you mean 'temperature'"):
        ChatQwen(temprature=0.5)


def test_empty_stop_list_is_no_stop() -> None:
    llm = ChatQwen(stop=[])
    assert "stop" not in llm._default_parameters


def test_construction_does_not_need_a_key() -> None:
    llm = ChatQwen()
    assert llm.api_key is None
    with pytest.raises(ValueError, match="DASHSCOPE_API_KEY"):
        llm.invoke("hi")


# ---------------------------------------------------------------------------- secrets


def test_key_never_in_repr_str_or_dumps() -> None:
    llm = ChatQwen(api_key=KEY, temperature=0.1)
    assert KEY not in repr(llm)
    assert KEY not in str(llm)
    assert KEY not in dumps(llm)
    assert KEY not in json.dumps(dumpd(llm))
    assert KEY not in repr(llm._client)
    assert KEY not in str(llm.model_dump())


@pytest.mark.parametrize(
    ("cls", "bad"),
    [
        (ChatQwen, {"temperature": 5}),
        (ChatQwen, {"temperature": True}),
        (ChatQwen, {"temperature": "warm"}),
        (ChatQwen, {"region": "mars"}),
        (ChatQwen, {"model": "qwen-max", "enable_thinking": True}),
        (QwenEmbeddings, {"dimensions": 7}),
        (QwenEmbeddings, {"max_retries": -2}),
    ],
)
def test_key_never_in_a_construction_error(cls: type, bad: dict[str, Any]) -> None:
    """pydantic prints a validator's input in its errors; the input holds the key."""
    with pytest.raises(ValueError) as info:
        cls(api_key=KEY, **bad)
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


def test_serialization_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = ChatQwen(model="qwen-turbo", api_key=KEY, temperature=0.2, max_tokens=64, stop=["x"])
    serialized = dumpd(llm)
    assert serialized == {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain_qwen", "chat_models", "ChatQwen"],
        "kwargs": {
            "model": "qwen-turbo",
            "api_key": {"lc": 1, "type": "secret", "id": ["DASHSCOPE_API_KEY"]},
            "temperature": 0.2,
            "max_tokens": 64,
            "stop": ["x"],
            "stream_usage": True,
            "max_retries": 2,
        },
        "name": "ChatQwen",
    }
    monkeypatch.setenv("DASHSCOPE_API_KEY", KEY)
    with warnings.catch_warnings():
        # langchain-core marks load() as beta; the warning is theirs, about their API.
        warnings.simplefilter("ignore", LangChainBetaWarning)
        loaded = load(
            serialized,
            valid_namespaces=["langchain_qwen"],
            allowed_objects=[ChatQwen],
            secrets_from_env=True,
        )
    assert isinstance(loaded, ChatQwen)
    assert loaded.asdict() == llm.asdict()
    assert loaded.api_key is not None and loaded.api_key.get_secret_value() == KEY


# ---------------------------------------------------------------------------- LangSmith


def test_ls_params() -> None:
    llm = ChatQwen(model="qwen-plus", temperature=0.3, max_tokens=50, stop="END")
    assert llm._get_ls_params() == {
        "ls_provider": "dashscope",
        "ls_model_name": "qwen-plus",
        "ls_model_type": "chat",
        "ls_temperature": 0.3,
        "ls_max_tokens": 50,
        "ls_stop": ["END"],
    }
    params = llm._get_ls_params(stop=["a"], model="qwen-max", temperature=0.9)
    assert params["ls_model_name"] == "qwen-max"
    assert params["ls_temperature"] == 0.9
    assert params["ls_stop"] == ["a"]


def test_profile_from_capabilities() -> None:
    profile = ChatQwen(model="qwen3-vl-plus").profile
    assert profile is not None
    assert profile["image_inputs"] is True
    assert profile["tool_calling"] is True
    assert profile["max_input_tokens"] == 262_144
    assert ChatQwen(model="qwq-plus").profile["tool_choice"] is False  # type: ignore[index]
    assert ChatQwen(model="my-private-model").profile is None


# ---------------------------------------------------------------------------- tools


def _bound_kwargs(runnable: Any) -> dict[str, Any]:
    assert isinstance(runnable, RunnableBinding)
    return dict(runnable.kwargs)


@pytest.mark.parametrize(
    ("tools", "choice", "expected"),
    [
        ([Weather], None, None),
        ([Weather], "auto", "auto"),
        ([Weather], "none", "none"),
        ([Weather], "Weather", {"type": "function", "function": {"name": "Weather"}}),
        ([Weather], "any", {"type": "function", "function": {"name": "Weather"}}),
        ([Weather], "required", {"type": "function", "function": {"name": "Weather"}}),
        ([Weather], True, {"type": "function", "function": {"name": "Weather"}}),
        ([Weather, get_time], "any", "required"),
        ([Weather, get_time], "required", "required"),
        ([Weather, get_time], "get_time", {"type": "function", "function": {"name": "get_time"}}),
        (
            [Weather, get_time],
            {"type": "function", "function": {"name": "get_time"}},
            {"type": "function", "function": {"name": "get_time"}},
        ),
        (
            [Weather, get_time],
            {"type": "tool", "name": "Weather"},
            {"type": "function", "function": {"name": "Weather"}},
        ),
    ],
)
def test_tool_choice_mapping(tools: list[Any], choice: Any, expected: Any) -> None:
    kwargs = _bound_kwargs(ChatQwen(model="qwen-plus").bind_tools(tools, tool_choice=choice))
    assert kwargs.get("tool_choice") == expected
    assert [t["function"]["name"] for t in kwargs["tools"]] == [
        "Weather" if t is Weather else "get_time" for t in tools
    ]


def test_bind_tools_formats_and_parallel() -> None:
    kwargs = _bound_kwargs(ChatQwen().bind_tools([get_time], parallel_tool_calls=True, strict=True))
    assert kwargs["parallel_tool_calls"] is True
    assert kwargs["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_time",
                "description": "Current time in a time zone.",
                "parameters": {
                    "type": "object",
                    "properties": {"zone": {"type": "string"}},
                    "required": ["zone"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
        }
    ]


def test_bind_tools_rejects_bad_choices() -> None:
    with pytest.raises(ValueError, match="not a bound tool"):
        ChatQwen().bind_tools([Weather], tool_choice="nope")
    with pytest.raises(ValueError, match="named 'search'"):
        ChatQwen().bind_tools([{"name": "search", "parameters": {}}])
    for forcing in ("any", "required", True):
        with pytest.raises(ValueError, match="no tools are bound"):
            ChatQwen().bind_tools([], tool_choice=forcing)


@pytest.mark.parametrize("choice", ["any", "required", "Weather", True])
def test_forced_tools_while_thinking_raise_naming_both_settings(choice: Any) -> None:
    llm = ChatQwen(model="qwen-plus", enable_thinking=True)
    with pytest.raises(ValueError) as info:
        llm.bind_tools([Weather], tool_choice=choice)
    text = str(info.value)
    assert "tool_choice" in text and "enable_thinking=True" in text
    assert "enable_thinking=False" in text  # the fix
    # the instance is not modified, and auto is still fine
    assert llm.enable_thinking is True
    assert _bound_kwargs(llm.bind_tools([Weather], tool_choice="auto"))["tool_choice"] == "auto"
    # turning thinking off for the binding is the documented fix
    fixed = _bound_kwargs(llm.bind_tools([Weather], tool_choice=choice, enable_thinking=False))
    assert fixed["enable_thinking"] is False


def test_forced_tools_on_models_that_think_by_default() -> None:
    # Qwen3 open-source hybrids think unless told otherwise: a forced tool with thinking left
    # unset is sent with enable_thinking=False; asking for thinking too is an error.
    weather = convert_to_openai_tool(Weather)
    request = _wire(
        ChatQwen(model="qwen3-32b"),
        [HumanMessage("hi")],
        tools=[weather],
        tool_choice={"type": "function", "function": {"name": "Weather"}},
    )
    assert request["parameters"]["enable_thinking"] is False
    ChatQwen(model="qwen3-32b").bind_tools([Weather], tool_choice="any")  # no error
    with pytest.raises(ValueError, match="qwen3-32b"):
        ChatQwen(model="qwen3-32b", enable_thinking=True).bind_tools([Weather], tool_choice="any")
    unforced = _wire(ChatQwen(model="qwen3-32b"), [HumanMessage("hi")])
    assert "enable_thinking" not in unforced["parameters"]
    with pytest.raises(ValueError, match="always"):
        ChatQwen(model="qwq-plus").bind_tools([Weather], tool_choice="any")
    # a call-time enable_thinking=True on a hybrid model is caught before sending too
    bound = ChatQwen(model="qwen-plus", api_key=KEY).bind_tools([Weather], tool_choice="any")
    with pytest.raises(ValueError, match="enable_thinking=True"):
        bound.invoke("hi", enable_thinking=True)


# ---------------------------------------------------------------------------- structured


def _binding_of(runnable: Any) -> dict[str, Any]:
    """The kwargs bound on the model inside a structured-output runnable."""
    assert isinstance(runnable, RunnableSequence)
    for step in runnable.steps:
        if isinstance(step, RunnableBinding):
            return dict(step.kwargs)
    raise AssertionError("no binding found")


def test_structured_output_function_calling_forces_the_tool() -> None:
    kwargs = _binding_of(ChatQwen(model="qwen-plus").with_structured_output(Weather))
    assert kwargs["tool_choice"] == {"type": "function", "function": {"name": "Weather"}}
    assert kwargs["enable_thinking"] is False  # hybrid model: never rely on its default
    assert kwargs["ls_structured_output_format"] == {
        "kwargs": {"method": "function_calling", "strict": None},
        "schema": Weather,
    }


def test_structured_output_on_thinking_hybrid_turns_thinking_off_for_that_runnable() -> None:
    llm = ChatQwen(model="qwen-plus", enable_thinking=True)
    for method in ("function_calling", "json_mode", "json_schema"):
        kwargs = _binding_of(llm.with_structured_output(Weather, method=method))  # type: ignore[arg-type]
        assert kwargs["enable_thinking"] is False
    assert llm.enable_thinking is True  # never mutated


def test_structured_output_on_always_thinking_model() -> None:
    llm = ChatQwen(model="qwq-plus")
    kwargs = _binding_of(llm.with_structured_output(Weather))
    assert kwargs["tool_choice"] == "auto"
    for method in ("json_mode", "json_schema"):
        with pytest.raises(ValueError, match="always thinks"):
            llm.with_structured_output(Weather, method=method)  # type: ignore[arg-type]


def test_structured_output_json_schema_format() -> None:
    kwargs = _binding_of(
        ChatQwen().with_structured_output(Weather, method="json_schema", strict=True)
    )
    assert kwargs["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "Weather",
            "description": "Weather of a city.",
            "schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
            "strict": True,
        },
    }


def test_structured_output_rejects_unknown_arguments() -> None:
    with pytest.raises(ValueError, match="method='xml'"):
        ChatQwen().with_structured_output(Weather, method="xml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unsupported arguments"):
        ChatQwen().with_structured_output(Weather, tools=[])


def test_validation_error_message_names_the_parameter() -> None:
    with pytest.raises(ValidationError) as info:
        ChatQwen(temperature=3)
    assert "temperature=3.0 is out of range" in str(info.value)


# ---------------------------------------------------------------------------- clients


def test_region_and_client_settings_reach_the_transport() -> None:
    llm = ChatQwen(api_key=KEY, region="singapore", timeout=12, max_retries=5)
    assert llm._client.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert llm._client.max_retries == 5
    assert llm._client.timeouts.read == 12
    assert llm._async_client.base_url == llm._client.base_url
    assert llm._client is llm._client  # built once, lazily


def test_several_choices_become_several_generations() -> None:
    import httpx
    from langchain_core.messages import HumanMessage

    body = {
        "output": {
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "A"},
                },
                {
                    "index": 1,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "B"},
                },
            ]
        },
        "usage": {"input_tokens": 2, "output_tokens": 2, "total_tokens": 4},
        "request_id": "rid-n",
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    llm = ChatQwen(api_key=KEY, n=2, http_client=httpx.Client(transport=transport))
    result = llm.generate([[HumanMessage("hi")]])
    messages = [g.message for g in result.generations[0]]
    assert [m.content for m in messages] == ["A", "B"]
    assert [m.id for m in messages] == ["rid-n", "rid-n-1"]
