"""``ChatQwen.with_structured_output``: the schema as a forced tool, or JSON output.

Whether the tool is forced and whether thinking is switched off for the call is the core's
decision (``qwen_dashscope.structured_output_plan``), the same one LlamaIndex's
``structured_predict`` follows. Parsing uses langchain-core's own parsers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import BaseMessage, SystemMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser
from langchain_core.outputs import Generation
from langchain_core.runnables import Runnable, RunnableLambda, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from qwen_dashscope import structured_output_plan

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput

    from .chat_models import ChatQwen

__all__ = ["StructuredMethod", "structured_runnable"]

StructuredMethod = Literal["function_calling", "json_mode", "json_schema"]


class _ToolOutputParser(JsonOutputKeyToolsParser):
    """First call of the schema's tool; a missing call is an error, never ``None``."""

    pydantic_schema: Any = None

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        parsed = super().parse_result(result, partial=partial)
        if parsed is None:
            if partial:
                return None
            message = getattr(result[0], "message", None) if result else None
            raise OutputParserException(
                f"the model answered without calling the {self.key_name!r} tool, so there is "
                "no structured output",
                llm_output=str(getattr(message, "content", "")),
            )
        if self.pydantic_schema is None:
            return parsed
        # pydantic.v1 models have parse_obj only
        validate = getattr(self.pydantic_schema, "model_validate", None)
        try:
            if validate is None:
                return self.pydantic_schema.parse_obj(parsed)
            return validate(parsed)
        except Exception:
            if partial:
                return None
            raise


def json_schema_format(schema: Mapping[str, Any] | type) -> dict[str, Any]:
    """``json_schema`` object of ``response_format``: name, description, schema."""
    if isinstance(schema, Mapping) and "function" in schema:  # an OpenAI tool dict
        function = schema["function"]
        return {
            "name": function["name"],
            **({"description": function["description"]} if function.get("description") else {}),
            "schema": function.get("parameters", {}),
        }
    json_schema = dict(convert_to_json_schema(cast(Any, schema)))
    name = str(json_schema.pop("title", None) or "output")
    description = json_schema.pop("description", None)
    out: dict[str, Any] = {"name": name, "schema": json_schema}
    if description:
        out["description"] = description
    return out


def _mentions_json(messages: Sequence[BaseMessage]) -> bool:
    return any("json" in m.text.lower() for m in messages)


def _json_instruction(
    llm: ChatQwen, schema: Mapping[str, Any] | type | None
) -> Callable[[LanguageModelInput], list[BaseMessage]]:
    """Input -> messages that mention JSON (DashScope requires it for json_object)."""
    if schema is None:
        instruction = "Respond with a single JSON object."
    else:
        schema_json = json.dumps(json_schema_format(schema)["schema"], ensure_ascii=False)
        instruction = (
            "Respond with a single JSON object that matches this JSON schema: " + schema_json
        )

    def add(value: LanguageModelInput) -> list[BaseMessage]:
        messages = llm._convert_input(value).to_messages()
        if _mentions_json(messages):
            return messages
        if messages and isinstance(messages[0], SystemMessage):
            first = messages[0]
            content: Any = (
                f"{first.content}\n\n{instruction}"
                if isinstance(first.content, str)
                else [*first.content, {"type": "text", "text": "\n\n" + instruction}]
            )
            return [first.model_copy(update={"content": content}), *messages[1:]]
        return [SystemMessage(instruction), *messages]

    return add


def structured_runnable(
    llm: ChatQwen,
    schema: Mapping[str, Any] | type | None,
    *,
    method: StructuredMethod,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[LanguageModelInput, Any]:
    """The runnable ``ChatQwen.with_structured_output`` returns."""
    if method not in ("function_calling", "json_mode", "json_schema"):
        raise ValueError(f"method={method!r}: use 'function_calling', 'json_mode' or 'json_schema'")
    plan = structured_output_plan(llm.model, llm.enable_thinking, method, backend=llm._backend)
    ls_format = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    method = cast("StructuredMethod", plan.method)  # llama.cpp: JSON while thinking -> a tool
    bind_kwargs: dict[str, Any] = {}
    if plan.enable_thinking is not None:
        bind_kwargs["enable_thinking"] = plan.enable_thinking
    is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
    parser: OutputParserLike[Any] | Runnable[Any, Any]
    model: Runnable[LanguageModelInput, Any]
    if method == "function_calling":
        if schema is None:
            raise ValueError("method='function_calling' needs a schema")
        name = convert_to_openai_tool(schema, strict=strict)["function"]["name"]
        model = llm.bind_tools(
            [schema],
            tool_choice=name if plan.force_tool else "auto",
            strict=strict,
            ls_structured_output_format=ls_format,
            **bind_kwargs,
        )
        parser = _ToolOutputParser(
            key_name=name, first_tool_only=True, pydantic_schema=schema if is_pydantic else None
        )
    else:
        if method == "json_mode":
            response_format: dict[str, Any] = {"type": "json_object"}
        else:
            if schema is None:
                raise ValueError("method='json_schema' needs a schema")
            response_format = {"type": "json_schema", "json_schema": json_schema_format(schema)}
            if strict is not None:
                response_format["json_schema"]["strict"] = strict
        model = llm.bind(
            response_format=response_format, ls_structured_output_format=ls_format, **bind_kwargs
        )
        if method == "json_mode":
            model = RunnableLambda(_json_instruction(llm, schema)) | model
        parser = (
            PydanticOutputParser(pydantic_object=cast(Any, schema))
            if is_pydantic
            else JsonOutputParser()
        )
    if include_raw:
        parser_assign = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
        with_fallback = parser_assign.with_fallbacks([parser_none], exception_key="parsing_error")
        return RunnableMap(raw=model) | with_fallback
    return model | parser
