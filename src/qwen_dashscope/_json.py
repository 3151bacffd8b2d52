"""JSON for the wire: fast encoding and decoding, and clear errors for what JSON cannot carry."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import InvalidRequestError

__all__ = ["check_json_value", "dumps", "explain_unencodable", "loads"]

_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1

loads: Callable[[str | bytes], Any]
_encode: Callable[[Any], bytes]
try:  # orjson is several times faster and gives the same JSON; langsmith already depends on it
    import orjson

    loads = orjson.loads

    def _encode(obj: Any) -> bytes:
        # Non-string keys (e.g. {token_id: bias}) are stringified, as the stdlib does.
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)

except ImportError:  # pragma: no cover - exercised in environments without orjson
    loads = json.loads

    def _encode(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )


def _problem(value: Any) -> str | None:
    """Why ``value`` (a leaf) cannot go into a request body, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if _INT_MIN <= value <= _UINT_MAX else "an integer beyond 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r}, which JSON cannot carry"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text with a lone surrogate (not valid Unicode)"
        return None
    return f"a {type(value).__name__}, which JSON cannot carry"


def _find(value: Any, path: str) -> tuple[str, str] | None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                return path, f"a key {key!r} that is not a string"
            found = _find(item, f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _find(item, f"{path}[{index}]")
            if found:
                return found
        return None
    problem = _problem(value)
    return None if problem is None else (path, problem)


def check_json_value(value: Any, name: str, *, param: str | None = None) -> None:
    """An InvalidRequestError naming ``name`` (and the path inside it) for what JSON can't carry."""
    found = _find(value, name)
    if found is not None:
        path, problem = found
        raise InvalidRequestError(f"{path} is {problem}", param=param or name.split("[")[0])


def explain_unencodable(body: Mapping[str, Any]) -> InvalidRequestError:
    """The error for a request body the encoder refused (found on the slow path only)."""
    found = _find(body, "request")
    if found is None:
        return InvalidRequestError("the request body cannot be encoded as JSON", param=None)
    path, problem = found
    # Name the caller's parameter: input.messages -> messages, parameters[...] -> that name.
    param = path
    for marker, name in (("['messages']", "messages"), ("['texts']", "texts")):
        if marker in path:
            param = name
            break
    else:
        if path.startswith("request['parameters']["):
            param = path.split("[")[2].strip("]'")
    return InvalidRequestError(f"{path} is {problem}", param=param)


def dumps(body: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON of a request body; what JSON cannot carry is an InvalidRequestError."""
    try:
        return _encode(body)
    except (TypeError, ValueError, OverflowError):
        raise explain_unencodable(body) from None
