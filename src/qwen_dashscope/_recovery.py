"""Tool calls a server's parser left as text, recovered; pure string functions.

Self-hosted servers turn the model's tool-call syntax into ``tool_calls`` with a parser
configured at launch (vLLM ``--tool-call-parser hermes | qwen3_coder``, SGLang
``qwen25 | qwen3_coder``, Ollama's built-in ``qwen3`` parsers). When that parser fails, or is
not configured, the syntax reaches the client as text, with ``finish_reason: "stop"``
(research notes §3):

* hermes JSON, Qwen2.5 / Qwen3: ``<tool_call>\\n{"name": "f", "arguments": {...}}\\n</tool_call>``
  in ``content`` [CODE vllm hermes_tool_parser.py: the whole raw text goes to content];
* XML, Qwen3-Coder / Qwen3.5 / 3.6: ``<tool_call>\\n<function=f>\\n<parameter=p>\\nv\\n</parameter>
  \\n</function>\\n</tool_call>`` in ``content`` [ISSUE vllm#22975] or inside the reasoning
  [ISSUE sglang#26172, vllm#39056];
* bare JSON without tags (older Ollama templates): ``{"name": "f", "arguments": {...}}``
  [ISSUE ollama#11662].

A text block becomes calls only when every block in it parses and names a tool the request
bound; anything else stays text (a model that *talks about* tool syntax keeps its words:
research notes §10, decision 5). XML parameter values are strings, converted by the tool's
JSON schema as vLLM's ``qwen3_coder`` parser does [CODE ``_convert_param_value``].
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "THINK_CLOSE",
    "THINK_OPEN",
    "TOOL_MARKERS",
    "Recovered",
    "find_marker",
    "held_suffix",
    "recover_tool_calls",
    "tool_schemas",
]

TOOL_MARKERS: tuple[str, ...] = ("<tool_call>", "<function=")
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"

_FUNCTION = re.compile(r"<function=([^>\n]+)>(.*?)(?:</function>|$)", re.DOTALL)
_PARAMETER = re.compile(
    r"<parameter=([^>\n]+)>(.*?)(?:</parameter>|(?=<parameter=)|(?=</function>)|$)", re.DOTALL
)


def tool_schemas(tools: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Bound tools (OpenAI tool dicts) -> ``{name: parameters schema}``."""
    out: dict[str, Mapping[str, Any]] = {}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            parameters = function.get("parameters")
            out[function["name"]] = parameters if isinstance(parameters, Mapping) else {}
    return out


def find_marker(text: str, markers: Sequence[str] = TOOL_MARKERS) -> int:
    """Where the first marker starts in ``text`` (-1: none)."""
    found = [i for i in (text.find(m) for m in markers) if i >= 0]
    return min(found) if found else -1


def held_suffix(text: str, markers: Sequence[str] = TOOL_MARKERS) -> int:
    """Length of the longest end of ``text`` that could be the start of a marker (a stream
    may cut ``<tool_call>`` anywhere): that much waits for the next piece."""
    best = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), best, -1):
            if marker.startswith(text[-size:]):
                best = size
                break
    return best


@dataclass(frozen=True, slots=True)
class Recovered:
    """Calls found in a text: ``(name, arguments JSON)`` pairs, and the text around them."""

    calls: tuple[tuple[str, str], ...]
    text: str


def _types(schema: Any) -> set[str]:
    kind = schema.get("type") if isinstance(schema, Mapping) else None
    if isinstance(kind, str):
        return {kind}
    if isinstance(kind, list):
        return {k for k in kind if isinstance(k, str)}
    for key in ("anyOf", "oneOf"):
        options = schema.get(key) if isinstance(schema, Mapping) else None
        if isinstance(options, list):
            return set().union(*(_types(o) for o in options))
    return set()


def _convert(value: str, schema: Any) -> Any:
    """An XML parameter value by its JSON-schema type (vLLM qwen3_coder's conversion)."""
    if value.lower() in ("null", "none"):
        return None
    kinds = _types(schema)
    if not kinds or "string" in kinds:
        return value  # a string parameter, or one the schema does not type: as written
    if "integer" in kinds:
        try:
            return int(value)
        except ValueError:
            pass
    if "number" in kinds:
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            return int(number) if number.is_integer() and "." not in value else number
    if "boolean" in kinds and value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return json.loads(value)
    except ValueError:
        return value


def _xml_call(block: str, tools: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    match = _FUNCTION.search(block)
    if match is None or block[: match.start()].strip():
        return None
    name = match.group(1).strip()
    if name not in tools:
        return None
    properties = tools[name].get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    arguments: dict[str, Any] = {}
    for parameter in _PARAMETER.finditer(match.group(2)):
        key = parameter.group(1).strip()
        value = parameter.group(2)
        # [CODE qwen3coder_tool_parser.py] one leading and one trailing newline are layout.
        value = value.removeprefix("\n").removesuffix("\n")
        arguments[key] = _convert(value, properties.get(key))
    return name, json.dumps(arguments, ensure_ascii=False)


def _json_call(value: Any, tools: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    name = value.get("name")
    if not isinstance(name, str) or name not in tools:
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            return None
    if not isinstance(arguments, Mapping):
        return None
    return name, json.dumps(arguments, ensure_ascii=False)


def _block(inner: str, tools: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    inner = inner.strip()
    if inner.startswith("<function="):
        return _xml_call(inner, tools)
    try:
        value = json.loads(inner)
    except ValueError:
        return None
    return _json_call(value, tools)


def recover_tool_calls(
    text: str, tools: Mapping[str, Mapping[str, Any]], *, bare_json: bool = False
) -> Recovered | None:
    """The calls ``text`` holds as hermes JSON or XML blocks (or, with ``bare_json``, as one
    JSON object or list), when every block parses and names one of ``tools``; else None."""
    if not tools:
        return None
    calls: list[tuple[str, str]] = []
    rest: list[str] = []
    position = 0
    while True:
        start = find_marker(text[position:])
        if start < 0:
            rest.append(text[position:])
            break
        start += position
        rest.append(text[position:start])
        if text.startswith("<tool_call>", start):
            end = text.find("</tool_call>", start)
            inner = text[start + len("<tool_call>") : end if end >= 0 else len(text)]
            position = end + len("</tool_call>") if end >= 0 else len(text)
        else:  # a bare <function=...> block (qwen3_coder output without its wrapper)
            end = text.find("</function>", start)
            inner = text[start : end + len("</function>") if end >= 0 else len(text)]
            position = end + len("</function>") if end >= 0 else len(text)
        call = _block(inner, tools)
        if call is None:
            return None
        calls.append(call)
    if calls:
        return Recovered(tuple(calls), "".join(rest).strip())
    if not bare_json:
        return None
    stripped = text.strip()
    if not stripped.startswith(("{", "[")):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    items = value if isinstance(value, list) else [value]
    found = [_json_call(item, tools) for item in items]
    if not items or any(call is None for call in found):
        return None
    return Recovered(tuple(call for call in found if call is not None), "")
