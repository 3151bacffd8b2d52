"""Replies files: rules for ``python -m qwen_dashscope.testing --replies FILE`` (JSON or TOML).

A file holds a list of rules, tried in order on every generation request (native text and
multimodal, compatible-mode chat); the first that matches answers, and a request no rule
matches gets the emulator's default reply. JSON, either ``{"rules": [...]}`` or a bare list::

    {"rules": [
      {"contains": "天气", "tool_call": {"name": "get_weather", "arguments": {"city": "杭州"}}},
      {"regex": "(?i)^hello", "model": "qwen-plus", "text": "Hello!", "delay": 0.5},
      {"model": "qwq-plus", "reasoning": "The user greets me.", "text": "你好！"},
      {"contains": "限流", "error": {"status": 429, "code": "Throttling.RateQuota",
                                   "message": "Requests rate limit exceeded."}}
    ]}

TOML (Python 3.11+, or ``tomli`` on 3.10): the same keys under ``[[rules]]`` tables.

Match keys (all optional; a rule without any answers every new user turn):
``contains`` (a substring of the last user text, case-sensitive), ``regex`` (``re.search`` on
it; ``(?i)`` for case-insensitive), ``model`` (the request's model, exactly), ``tool`` (the
request offers a tool of this name, e.g. the schema of ``with_structured_output``),
``after_tool`` (``false`` by default: the rule answers a conversation that does not end with
tool results; ``true``: only one that does, i.e. the model's answer after your tools ran).
Without it, a ``tool_call`` rule would match its own follow-up and an agent would call the
tool forever.

A request whose ``tool_choice`` forces a tool (a named function, or ``"required"``: one of the
offered tools) is never answered by a ``text`` rule, nor by a ``tool_call`` rule that calls
another tool: the service always calls a forced tool. The next rule, or the default reply
(which calls the forced tool with arguments made from its schema), answers it; so
``with_structured_output`` keeps working next to a text rule that matches the same question.

Answer keys (at least one): ``text`` (the answer), ``tool_call`` (``{"name", "arguments"}`` or
a list of them for parallel calls; ``text`` then is the content sent with them), ``reasoning``
(sent before ``text``/``tool_call`` when the request thinks: a thinking model or
``enable_thinking``), ``error`` (``{"status", "code", "message"}``, optionally ``"in_stream":
true`` and ``"after_chunks": N`` to fail inside an SSE stream), ``delay`` (seconds to wait
before answering; alone: the default reply, late).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from ._recorded import GENERATION_ENDPOINTS, RecordedRequest
from ._replies import Reply, ToolCall
from ._retrieval import media_key
from ._server import DashScopeEmulator

TOML_MODULE = "tomllib" if sys.version_info >= (3, 11) else "tomli"
"""Module that parses TOML replies files (``tomli`` is a separate install on Python 3.10)."""

MATCH_KEYS = ("contains", "regex", "model", "tool", "after_tool")
ANSWER_KEYS = ("text", "tool_call", "reasoning", "error", "delay")
ERROR_KEYS = ("status", "code", "message", "in_stream", "after_chunks")
TOOL_CALL_KEYS = ("name", "arguments")


class RepliesFileError(ValueError):
    """A replies file that cannot be read or does not follow the format (the message says where)."""


@dataclass(frozen=True)
class ScriptedRule:
    """One rule of a replies file: a predicate over requests and the ``Reply`` it answers with."""

    index: int
    reply: Reply
    contains: str | None = None
    regex: re.Pattern[str] | None = None
    model: str | None = None
    after_tool: bool = False
    tool: str | None = None

    def matches(self, request: RecordedRequest) -> bool:
        """Whether this rule answers ``request`` (generation requests only)."""
        if request.endpoint not in GENERATION_ENDPOINTS:
            return False
        if self.model is not None and request.model != self.model:
            return False
        offered = [str((t.get("function") or {}).get("name")) for t in request.tools]
        if self.tool is not None and self.tool not in offered:
            return False
        if not self._obeys(forced_tools(request.parameters.get("tool_choice"), offered)):
            return False
        messages = request.messages
        if (bool(messages) and messages[-1].get("role") == "tool") != self.after_tool:
            return False
        text = request.last_user_text
        if self.contains is not None and self.contains not in text:
            return False
        return self.regex is None or self.regex.search(text) is not None

    def _obeys(self, forced: frozenset[str] | None) -> bool:
        """Whether this rule's answer is one the service could give when it must call one of
        ``forced`` (None: nothing is forced)."""
        if forced is None or self.reply.kind in ("error", "default"):
            return True
        names = {call.name for call in self.reply.calls}
        return bool(names) and names <= forced


def forced_tools(tool_choice: object, offered: Sequence[str]) -> frozenset[str] | None:
    """The tools a ``tool_choice`` makes the model call: the named one, any offered one for
    ``"required"``; None when the model may answer with text."""
    if tool_choice == "required" and offered:
        return frozenset(offered)
    if isinstance(tool_choice, Mapping):
        function = tool_choice.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            return frozenset([str(function["name"])])
    return None


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string" if isinstance(value, str) else type(value).__name__


class _Checker:
    """Reads one rule, raising ``RepliesFileError`` with ``source: rules[i].field: problem``."""

    def __init__(self, source: str, index: int) -> None:
        self.source = source
        self.index = index

    def fail(self, field: str, problem: str) -> RepliesFileError:
        where = f"rules[{self.index}]" + (f".{field}" if field else "")
        return RepliesFileError(f"{self.source}: {where}: {problem}")

    def obj(self, value: object, field: str, allowed: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(field, f"must be an object, got {_type_name(value)}")
        unknown = [key for key in value if key not in allowed]
        if unknown:
            name = f"{field}.{unknown[0]}" if field else str(unknown[0])
            raise self.fail(name, f"unknown key (allowed: {', '.join(allowed)})")
        return value

    def string(self, value: object, field: str, *, empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(field, f"must be a string, got {_type_name(value)}")
        if not value and not empty:
            raise self.fail(field, "must not be empty")
        return value

    def boolean(self, value: object, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field, f"must be true or false, got {_type_name(value)}")
        return value

    def integer(self, value: object, field: str, low: int, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(field, f"must be an integer, got {_type_name(value)}")
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f">= {low}"
            raise self.fail(field, f"must be {bounds}, got {value}")
        return value

    def seconds(self, value: object, field: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(field, f"must be a number of seconds, got {_type_name(value)}")
        if not 0 <= value < float("inf"):
            raise self.fail(field, f"must be >= 0 seconds, got {value}")
        return float(value)

    def tool_calls(self, value: object) -> tuple[ToolCall, ...]:
        items = value if isinstance(value, list) else [value]
        if not items:
            raise self.fail("tool_call", "must name at least one call")
        calls = []
        for i, item in enumerate(items):
            field = f"tool_call[{i}]" if isinstance(value, list) else "tool_call"
            call = self.obj(item, field, TOOL_CALL_KEYS)
            if "name" not in call:
                raise self.fail(field, 'needs a "name"')
            name = self.string(call["name"], f"{field}.name")
            arguments = call.get("arguments", {})
            if not isinstance(arguments, Mapping):
                got = _type_name(arguments)
                raise self.fail(f"{field}.arguments", f"must be an object, got {got}")
            calls.append(ToolCall(name, dict(arguments)))
        return tuple(calls)

    def error(self, value: object, delay: float) -> Reply:
        spec = self.obj(value, "error", ERROR_KEYS)
        for key in ("status", "code", "message"):
            if key not in spec:
                raise self.fail("error", f'needs "status", "code" and "message" (no "{key}")')
        in_stream = self.boolean(spec.get("in_stream", False), "error.in_stream")
        after_chunks = self.integer(spec.get("after_chunks", 0), "error.after_chunks", 0)
        if after_chunks and not in_stream:
            raise self.fail("error.after_chunks", 'needs "in_stream": true')
        return Reply.error(
            self.integer(spec["status"], "error.status", 400, 599),
            self.string(spec["code"], "error.code"),
            self.string(spec["message"], "error.message", empty=True),
            in_stream=in_stream,
            after_chunks=after_chunks,
            delay=delay,
        )

    def rule(self, value: object) -> ScriptedRule:
        spec = self.obj(value, "", MATCH_KEYS + ANSWER_KEYS)
        contains = None
        if "contains" in spec:
            contains = self.string(spec["contains"], "contains")
        pattern = None
        if "regex" in spec:
            source = self.string(spec["regex"], "regex")
            try:
                pattern = re.compile(source)
            except re.error as exc:
                raise self.fail("regex", f"not a valid regular expression: {exc}") from None
        model = self.string(spec["model"], "model") if "model" in spec else None
        tool = self.string(spec["tool"], "tool") if "tool" in spec else None
        after_tool = self.boolean(spec.get("after_tool", False), "after_tool")
        if not any(key in spec for key in ANSWER_KEYS):
            raise self.fail("", f"needs an answer: one of {', '.join(ANSWER_KEYS)}")
        delay = self.seconds(spec["delay"], "delay") if "delay" in spec else 0.0
        text = self.string(spec["text"], "text", empty=True) if "text" in spec else None
        reasoning = None
        if "reasoning" in spec:
            reasoning = self.string(spec["reasoning"], "reasoning")
        if "error" in spec:
            for key in ("text", "tool_call", "reasoning"):
                if key in spec:
                    raise self.fail(key, 'cannot be combined with "error" in one rule')
            reply = self.error(spec["error"], delay)
        elif "tool_call" in spec:
            calls = self.tool_calls(spec["tool_call"])
            reply = Reply.tool_calls(calls, content=text or "", reasoning=reasoning, delay=delay)
        elif text is not None:
            reply = Reply.text(text, reasoning=reasoning, delay=delay)
        elif reasoning is not None:
            raise self.fail("reasoning", 'needs a "text" or "tool_call" answer to go with it')
        else:
            reply = Reply.delay(delay)
        return ScriptedRule(
            self.index,
            reply,
            contains=contains,
            regex=pattern,
            model=model,
            after_tool=after_tool,
            tool=tool,
        )


def parse_rules(data: object, source: str = "replies") -> list[ScriptedRule]:
    """Validate parsed JSON/TOML data (``{"rules": [...]}`` or a list) into rules."""
    if isinstance(data, Mapping):
        unknown = [key for key in data if key not in ("rules", "images")]
        if unknown:
            raise RepliesFileError(
                f'{source}: unknown top-level key "{unknown[0]}" (use "rules" and "images")'
            )
        if "rules" not in data:
            raise RepliesFileError(f'{source}: no "rules" list')
        data = data["rules"]
    if not isinstance(data, list):
        raise RepliesFileError(f'{source}: "rules" must be a list, got {_type_name(data)}')
    return [_Checker(source, i).rule(item) for i, item in enumerate(data)]


def parse_images(data: object, source: str = "replies", base: Path | None = None) -> dict[str, str]:
    """The ``"images"`` table of a replies file: what each image shows (``describe_image``),
    so multimodal embeddings and rerank of it carry meaning. Keys are URLs or local paths,
    relative to ``base`` (the replies file's folder); a path must exist."""
    images = data.get("images") if isinstance(data, Mapping) else None
    if images is None:
        return {}
    if not isinstance(images, Mapping):
        raise RepliesFileError(
            f'{source}: "images" must map an image (URL or path) to a caption, '
            f"got {_type_name(images)}"
        )
    captions: dict[str, str] = {}
    for key, caption in images.items():
        if not isinstance(caption, str) or not caption:
            raise RepliesFileError(f'{source}: images["{key}"] must be a non-empty caption')
        if str(key).lower().startswith(("http://", "https://", "oss://", "data:")):
            captions[media_key(key)] = caption
            continue
        path = Path(key) if base is None or Path(key).is_absolute() else base / key
        if not path.is_file():
            raise RepliesFileError(f'{source}: images["{key}"]: no such file ({path})')
        captions[media_key(path)] = caption
    return captions


def _toml_loads(text: str, source: str) -> Any:
    try:
        toml = importlib.import_module(TOML_MODULE)
    except ImportError:
        raise RepliesFileError(
            f"{source}: TOML replies files need Python 3.11+ (tomllib) or, on Python 3.10, "
            "`pip install tomli`; or write the rules as JSON"
        ) from None
    try:
        return toml.loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise RepliesFileError(f"{source}: not valid TOML: {exc}") from None


def load_rules(path: str | Path) -> list[ScriptedRule]:
    """Read a replies file's rules: TOML when the name ends in ``.toml``, JSON otherwise."""
    return load_replies(path)[0]


def load_replies(path: str | Path) -> tuple[list[ScriptedRule], dict[str, str]]:
    """Read a replies file: its rules and its image captions (paths relative to the file)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RepliesFileError(f"{source}: cannot read the replies file: {exc}") from None
    if path.suffix.lower() == ".toml":
        data = _toml_loads(text, source)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise RepliesFileError(f"{source}: not valid JSON: {exc.msg} ({where})") from None
    return parse_rules(data, source), parse_images(data, source, path.parent)


def install_rules(
    emulator: DashScopeEmulator,
    rules: Sequence[ScriptedRule],
    images: Mapping[str, str] | None = None,
) -> None:
    """Register ``rules`` on a ``DashScopeEmulator`` with ``emulator.when`` (unlimited times),
    and the image captions of a replies file."""
    for rule in rules:
        emulator.when(rule.matches, rule.reply)
    emulator.image_captions.update(images or {})


def apply_replies(
    emulator: DashScopeEmulator, replies: str | PathLike[str] | Mapping[str, Any] | Sequence[Any]
) -> list[ScriptedRule]:
    """Script ``emulator`` with a replies file, as ``--replies FILE`` does on the command line.

    ``replies`` is the file's path (JSON, or TOML when it ends in ``.toml``) or the parsed data
    itself (``{"rules": [...]}`` or a list of rules). The rules are added after any rules the
    emulator already has (``emulator.when``); queued replies still come first. Returns them;
    a mistake raises ``RepliesFileError`` naming the rule and the field::

        with DashScopeEmulator() as emu:
            apply_replies(emu, "examples/emulator-replies.json")
    """
    if isinstance(replies, (str, PathLike)):
        rules, images = load_replies(Path(replies))
    else:
        rules, images = parse_rules(replies), parse_images(replies)
    install_rules(emulator, rules, images)
    return rules
