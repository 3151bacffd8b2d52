"""Issue 9, property-based: every input reaches the wire unchanged, or is refused by name.

Hypothesis generates values (numbers with nan/inf/huge ints/bools, strings with lone
surrogates, nested containers, sets, objects, None) for the known parameters of
``DashScopeClient.generate`` (its ``parameters`` dict and the client's ``timeout`` /
``max_retries``), ``ChatQwen(...)`` and ``Qwen(...)``. The property, for each input:

* refused: a ``ValueError`` (``InvalidRequestError`` and pydantic's ``ValidationError`` are
  ones) whose message names one of the parameters given, and no request was sent; or
* accepted: the request's ``parameters`` hold every given value unchanged (``None`` means
  "unset" and may be left out; ``True`` is not ``1``), and the connection settings were kept
  as given (a timeout must be a finite number of seconds).

Any other exception is a failure. Requests go to an ``httpx.MockTransport`` through the public
``http_client=`` arguments. Runs are derandomized, so failures are stable.
"""

from __future__ import annotations

import asyncio
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pytest

pytest.importorskip("hypothesis")  # the dev extra
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qwen_dashscope import Timeouts

from . import _paths

PARAMETERS = (
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "seed",
    "stop",
    "repetition_penalty",
    "presence_penalty",
    "thinking_budget",
    "n",
)
SETTINGS = ("timeout", "max_retries")

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=130),
    st.sampled_from([2**63 - 1, 2**63, 2**64, 2**65, -(2**64)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 0.5, 1.0, 1.9, 2.0, -0.5, math.nan, math.inf, -math.inf]),
    st.text(max_size=4),
    st.sampled_from(["\ud800", "a\udfffb", "停", ""]),
)
_ODD = st.one_of(st.sets(st.integers(-2, 2), max_size=2), st.builds(object))
# Mostly scalars (where the bugs are), sometimes containers of them, sets and objects.
VALUES = st.one_of(
    _SCALARS,
    _SCALARS,
    _SCALARS,
    _ODD,
    st.lists(_SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=3), _SCALARS | st.lists(_SCALARS, max_size=2), max_size=2),
)

FUZZ = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _same(sent: Any, given: Any) -> bool:
    """JSON-equal, with bools told apart from numbers."""
    if isinstance(given, bool) or isinstance(sent, bool):
        return type(sent) is type(given) and sent == given
    if isinstance(given, (int, float)) and isinstance(sent, (int, float)):
        if isinstance(given, float) or isinstance(sent, float):  # a float field: float's precision
            return float(sent) == float(given)
        return bool(sent == given)
    if isinstance(given, (list, tuple)):
        return (
            isinstance(sent, list)
            and len(sent) == len(given)
            and all(_same(s, g) for s, g in zip(sent, given, strict=True))
        )
    if isinstance(given, Mapping):
        return (
            isinstance(sent, dict)
            and set(sent) == {str(k) for k in given}
            and all(_same(sent[str(k)], v) for k, v in given.items())
        )
    return type(sent) is type(given) and bool(sent == given)


def _kept(stored: Any, given: Any, name: str) -> bool:
    """A connection setting accepted as given."""
    if given is None:
        return True
    if isinstance(given, bool) or isinstance(stored, bool):
        return False  # True is not 1 second, nor 1 retry
    if name == "timeout":
        if isinstance(stored, Timeouts) and isinstance(given, (int, float, list, tuple)):
            return stored == Timeouts.of(given)  # the client's own reading of the value
        if isinstance(given, (list, tuple)):
            return bool(stored == given)  # an adapter keeps what was given (checked)
        if isinstance(stored, Timeouts) and isinstance(given, Mapping):
            # pydantic builds the dataclass from a dict: its numbers must still be usable
            numbers = [stored.connect, stored.read, stored.total]
            return all(n is None or (n > 0 and math.isfinite(n)) for n in numbers)
        if not (isinstance(stored, (int, float)) and math.isfinite(stored)):
            return False
        return isinstance(given, (int, float)) and float(stored) == float(given)
    return bool(stored == given)


def _attempt(action: Callable[[], Any]) -> BaseException | None:
    """Run ``action`` (sync, or a coroutine), ignoring warnings; the exception it raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = action()
            if asyncio.iscoroutine(result):
                asyncio.run(result)
    except Exception as error:
        return error
    return None


def _check(
    error: BaseException | None,
    wire: _paths.Wire,
    parameters: Mapping[str, Any],
    connection: Mapping[str, Any],
    stored: Callable[[str], Any],
) -> None:
    names = [*parameters, *connection]
    if error is not None:
        assert isinstance(error, ValueError), f"{type(error).__name__}: {error}"
        assert any(name in str(error) for name in names), f"names none of {names}: {error}"
        assert wire.requests == [], "refused after a request was sent"
        return
    for name, value in connection.items():
        assert _kept(stored(name), value, name), f"{name}={value!r} became {stored(name)!r}"
    (sent,) = wire.parameters
    for name, value in parameters.items():
        if value is None or (name == "stop" and not value and name not in sent):
            continue  # unset; an empty stop list means "no stop sequences"
        assert name in sent, f"{name}={value!r} was not sent"
        assert _same(sent[name], value), f"{name}={value!r} was sent as {sent[name]!r}"


def _client_stored(client: Any) -> Callable[[str], Any]:
    def stored(name: str) -> Any:
        return client.timeouts if name == "timeout" else client.max_retries

    return stored


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "async"])
@FUZZ
# The cases issue 9 names, always tried first (then hypothesis explores).
@example(parameters={"top_k": 2**64}, connection={})
@example(parameters={"stop": ["\ud800"]}, connection={})
@example(parameters={"repetition_penalty": math.inf}, connection={})
@example(parameters={}, connection={"timeout": math.nan})
@given(
    parameters=st.dictionaries(st.sampled_from(PARAMETERS), VALUES, max_size=3),
    connection=st.dictionaries(st.sampled_from(SETTINGS), VALUES, max_size=1),
)
def test_client_generate_parameters(
    parameters: dict[str, Any], connection: dict[str, Any], sync: bool
) -> None:
    wire = _paths.Wire()
    built: dict[str, Any] = {}

    def action() -> Any:
        built["client"] = _paths.chat_object(
            "client", sync, base_url=_paths.MOCK_BASE, http_client=wire.http(sync), **connection
        )
        return _paths.ask(built["client"], "client", sync, parameters=parameters)

    error = _attempt(action)
    stored = _client_stored(built["client"]) if "client" in built else (lambda _: None)
    _check(error, wire, parameters, connection, stored)


@pytest.mark.parametrize("path", ["ChatQwen", "Qwen"])
@FUZZ
@example(fields={"max_retries": True})
@example(fields={"timeout": True})
@example(fields={"repetition_penalty": math.inf})
@example(fields={"top_k": 2**65})
@given(fields=st.dictionaries(st.sampled_from(PARAMETERS + SETTINGS), VALUES, max_size=3))
def test_adapter_constructor_parameters(fields: dict[str, Any], path: str) -> None:
    wire = _paths.Wire()
    built: dict[str, Any] = {}
    connection = {k: v for k, v in fields.items() if k in SETTINGS}
    parameters = {k: v for k, v in fields.items() if k not in SETTINGS}

    def action() -> Any:
        built["obj"] = _paths.chat_object(
            path, True, base_url=_paths.MOCK_BASE, http_client=wire.http(True), **fields
        )
        return _paths.ask(built["obj"], path, True)

    error = _attempt(action)
    obj = built.get("obj")
    _check(error, wire, parameters, connection, lambda name: getattr(obj, name, None))
