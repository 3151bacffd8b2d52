"""Every error mapping: status and code -> typed error with code, message, request_id."""

from __future__ import annotations

import pickle

import pytest

from qwen_dashscope import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    DashScopeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from qwen_dashscope._errors import error_from_body, parse_error_body
from tests._wire import Captures


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "InvalidParameter", BadRequestError),
        (400, "Arrearage", BadRequestError),
        (400, "DataInspectionFailed", ContentFilterError),
        (400, "data_inspection_failed", ContentFilterError),
        (400, "InvalidParameter.DataInspection", ContentFilterError),
        (401, "InvalidApiKey", AuthenticationError),
        (401, "NOT AUTHORIZED", AuthenticationError),
        (403, "AccessDenied", PermissionDeniedError),
        (403, "AllocationQuota.FreeTierOnly", PermissionDeniedError),
        (404, "ModelNotFound", NotFoundError),
        (429, "Throttling", RateLimitError),
        (429, "Throttling.AllocationQuota", RateLimitError),
        (500, "InternalError", ServerError),
        (502, None, ServerError),
        (503, "ModelUnavailable", ServerError),
        (418, "Teapot", APIError),
    ],
)
def test_status_and_code_map_to_a_class(status: int, code: str | None, expected: type) -> None:
    body = {"code": code, "message": "m", "request_id": "rid-1"}
    error = error_from_body(status, body)
    assert type(error) is expected
    assert isinstance(error, DashScopeError)
    assert (error.status_code, error.code, error.message, error.request_id) == (
        status,
        code,
        "m",
        "rid-1",
    )


def test_native_envelope_from_capture(wire: Captures) -> None:
    error = error_from_body(401, wire.bytes("error-invalid-api-key.json"))
    assert isinstance(error, AuthenticationError)
    assert error.code == "InvalidApiKey"
    assert error.request_id == "a1c0561c-1dfe-98a6-a62f-983577b8bc5e"
    assert "request_id=a1c0561c" in str(error)


def test_compatible_envelope_from_capture(wire: Captures) -> None:
    body = wire.text("compat-error-invalid-api-key.json")
    error = error_from_body(401, body)
    assert isinstance(error, AuthenticationError)
    assert error.code == "invalid_api_key"
    assert error.message.startswith("Incorrect API key provided.")
    assert error.request_id == "b02e047c-ca07-98df-ae99-d211d0990216"


def test_request_id_falls_back_to_the_header() -> None:
    error = error_from_body(500, b"upstream exploded", header_request_id="hdr-7")
    assert isinstance(error, ServerError)
    assert error.request_id == "hdr-7"
    assert error.message == "upstream exploded"


def test_empty_body_still_gives_a_message() -> None:
    assert error_from_body(503, b"").message == "HTTP 503"


def test_auth_hint_is_appended_only_to_authentication_errors() -> None:
    auth = error_from_body(401, {"code": "InvalidApiKey", "message": "bad"}, auth_hint="HINT")
    other = error_from_body(400, {"code": "InvalidParameter", "message": "bad"}, auth_hint="HINT")
    assert auth.message == "bad HINT"
    assert other.message == "bad"


def test_msg_key_is_accepted() -> None:
    assert parse_error_body({"code": "X", "msg": "legacy"}) == ("X", "legacy", None)


def test_errors_survive_pickling() -> None:
    error = error_from_body(429, {"code": "Throttling", "message": "slow", "request_id": "r"})
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is RateLimitError
    assert (clone.code, clone.request_id, clone.status_code) == ("Throttling", "r", 429)
