"""Typed errors for the DashScope transport.

Every failure the service or the network can produce surfaces as one of these; no error is
ever turned into an empty result.

```
DashScopeError
├── InvalidRequestError          (also a ValueError) caught before any request is sent
├── APIError                     status_code, code, message, request_id
│   ├── BadRequestError          400
│   │   └── ContentFilterError   400 DataInspectionFailed and other moderation codes
│   ├── AuthenticationError      401 (with a region hint when the host may not match the key)
│   ├── PermissionDeniedError    403
│   ├── NotFoundError            404
│   ├── RateLimitError           429
│   └── ServerError              5xx
├── APIConnectionError           the request did not complete
│   └── APITimeoutError
└── ProtocolError                a body that is not what the protocol says
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ContentFilterError",
    "DashScopeError",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ServerError",
    "classify_code",
    "error_from_body",
    "explain_unknown_model",
    "parse_error_body",
]


class DashScopeError(Exception):
    """Root of every error raised by qwen-dashscope."""

    status_code: int | None = None
    code: str | None = None
    request_id: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(DashScopeError, ValueError):
    """A request the service would reject, caught before anything is sent."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


class APIError(DashScopeError):
    """The service answered with an error."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body
        self.retry_after: float | None = None
        """Seconds the service asked to wait before trying again (``Retry-After``), if any."""
        self.headers: Mapping[str, str] = {}
        """The response headers (rate-limit and tracing headers, when the service sent any)."""

    def __str__(self) -> str:
        parts = [f"{self.status_code}" if self.status_code is not None else None, self.code]
        head = " ".join(p for p in parts if p)
        text = f"{head}: {self.message}" if head else self.message
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_api_error,
            (type(self), self.message, self.status_code, self.code, self.request_id, self.body),
        )


def _rebuild_api_error(
    cls: type[APIError],
    message: str,
    status_code: int | None,
    code: str | None,
    request_id: str | None,
    body: Any,
) -> APIError:
    return cls(message, status_code=status_code, code=code, request_id=request_id, body=body)


class BadRequestError(APIError):
    """400: the request was rejected (InvalidParameter, Arrearage, ...)."""


class ContentFilterError(BadRequestError):
    """400: input or output was blocked by content moderation (DataInspectionFailed, ...)."""


class AuthenticationError(APIError):
    """401: the API key was missing, wrong, or belongs to another region."""


class PermissionDeniedError(APIError):
    """403: the key may not use this model, workspace or feature."""


class NotFoundError(APIError):
    """404: the model, workspace or path does not exist."""


class RateLimitError(APIError):
    """429: throttled, or a quota is exhausted."""


class ServerError(APIError):
    """5xx: the service failed."""


class APIConnectionError(DashScopeError):
    """The request could not be completed over the network."""

    def __init__(self, message: str = "Connection error.", *, request_id: str | None = None):
        super().__init__(message)
        self.request_id = request_id


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, or the overall deadline)."""

    def __init__(self, message: str = "Request timed out.", *, request_id: str | None = None):
        super().__init__(message, request_id=request_id)


class ProtocolError(DashScopeError):
    """The service sent something that is not what the DashScope protocol says."""

    def __init__(
        self, message: str, *, status_code: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.request_id = request_id


# Moderation codes documented on the error-code page (§6.3 of the protocol notes).
_CONTENT_FILTER_CODES = frozenset(
    {
        "DataInspectionFailed",
        "data_inspection_failed",
        "InvalidParameter.DataInspection",
        "FaqRuleBlocked",
        "CustomRoleBlocked",
        "IPInfringementSuspect",
    }
)

_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}

# Error codes (native / compatible-mode spellings, §6.2-§6.3) -> class, whatever the HTTP
# status: a throttling code in a 200 body or an in-stream error frame is still a rate limit.
# Checked in order; a code matches a row when it starts with one of its prefixes.
_CODE_CLASSES: tuple[tuple[tuple[str, ...], type[APIError], int], ...] = (
    (tuple(_CONTENT_FILTER_CODES), ContentFilterError, 400),
    (
        (
            "Throttling",
            "limit_requests",
            "limit_burst_rate",
            "insufficient_quota",
            "RateLimitError",  # vLLM / SGLang error types
            "rate_limit_error",
            "CommodityNotPurchased",
            "PrepaidBillOverdue",
            "PostpaidBillOverdue",
        ),
        RateLimitError,
        429,
    ),
    (
        ("InvalidApiKey", "invalid_api_key", "NOT AUTHORIZED", "authentication_error"),
        AuthenticationError,
        401,
    ),
    (
        (
            "AccessDenied",
            "access_denied",
            "Model.AccessDenied",
            "App.AccessDenied",
            "Workspace.AccessDenied",
            "AllocationQuota.FreeTierOnly",
        ),
        PermissionDeniedError,
        403,
    ),
    (
        (
            "ModelNotFound",
            "model_not_found",
            "model_not_supported",
            "WorkSpaceNotFound",
            "NotFound",
        ),
        NotFoundError,
        404,
    ),
    (
        (
            "InternalError",
            "internal_error",
            "SystemError",
            "ModelServiceFailed",
            "RequestTimeOut",
            "ModelServingError",
            "ModelUnavailable",
            "InternalServerError",  # vLLM / SGLang error types, llama.cpp, Ollama
            "server_error",
            "api_error",
        ),
        ServerError,
        500,
    ),
    (
        (
            "InvalidParameter",
            "BadRequest",
            "invalid_request_error",
            "invalid_value",
            "Arrearage",
            "InvalidFile",
            "InvalidURL",
        ),
        BadRequestError,
        400,
    ),
)


def classify_code(code: str | None) -> tuple[type[APIError], int] | None:
    """The error class (and its usual HTTP status) an error code names, if it is known."""
    if not code:
        return None
    for prefixes, cls, status in _CODE_CLASSES:
        if code.startswith(prefixes):
            return cls, status
    return None


def parse_error_body(body: Any) -> tuple[str | None, str | None, str | None]:
    """(code, message, request_id) from a native flat or compatible-mode error envelope."""
    if not isinstance(body, Mapping):
        return None, None, None
    request_id = body.get("request_id") or body.get("id")
    inner = body.get("error")
    if isinstance(inner, Mapping):  # compatible mode: {"error": {...}, "request_id": ...}
        code = _named_code(inner)
        return code, _str_or_none(inner.get("message")), _str_or_none(request_id)
    if isinstance(inner, str):  # Ollama, llama.cpp: {"error": "..."}
        return None, inner, _str_or_none(request_id)
    # native: {"code", "message", "request_id"}; the Python SDK also accepts "msg"; older
    # vLLM: {"object": "error", "message", "type": "NotFoundError", "code": 404}
    message = body.get("message", body.get("msg"))
    return _named_code(body), _str_or_none(message), _str_or_none(request_id)


def _envelope_status(body: Any) -> int | None:
    if not isinstance(body, Mapping):
        return None
    inner = body.get("error")
    code = (inner if isinstance(inner, Mapping) else body).get("code")
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600:
        return code
    return None


def _named_code(body: Mapping[str, Any]) -> str | None:
    """An error's code: a string ``code``, else its ``type`` (self-hosted servers put the
    HTTP status, a number, in ``code``)."""
    code = body.get("code")
    if isinstance(code, str) and code:
        return code
    kind = body.get("type")
    if isinstance(kind, str) and kind:
        return kind
    return _str_or_none(code) if code else None


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def error_from_body(
    status_code: int | None,
    body: Any,
    *,
    header_request_id: str | None = None,
    auth_hint: str | None = None,
) -> APIError:
    """The one place that turns an error answer into a typed error.

    ``status_code`` is the HTTP status, or for an error inside a 200 answer (an error body, an
    ``event:error`` frame) the status the frame gave, or None. A known error code decides the
    class whatever the status; a 200 or missing status then takes the code's usual status.
    """
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = {"message": body.strip()[:2000] or f"HTTP {status_code}"}
    code, message, request_id = parse_error_body(body)
    request_id = request_id or header_request_id
    message = message or f"HTTP {status_code}"
    known = classify_code(code)
    status = status_code
    if status is None or status < 400:
        # Self-hosted servers put the HTTP status in the envelope's code (an error chunk in a
        # stream has no status of its own): {"error": {"code": 500, ...}}.
        status = _envelope_status(body) or status
    if known is not None:
        cls: type[APIError] = known[0]
        if status is None or status < 400:
            status = known[1]
    elif status is None or status < 400:
        cls, status = APIError, None  # an error inside a 200 answer, of an unknown kind
    elif status >= 500:
        cls = ServerError
    else:
        cls = _STATUS_CLASSES.get(status, APIError)
    if cls is AuthenticationError and auth_hint:
        message = f"{message} {auth_hint}"
    return cls(message, status_code=status, code=code, request_id=request_id, body=body)


# [DOC §6.3] native: 400 InvalidParameter "Model not exist."; 404 ModelNotFound (native) /
# model_not_found (compatible mode) "The model xxx does not exist ...".
_UNKNOWN_MODEL_CODES = ("ModelNotFound", "model_not_found")


def _names_unknown_model(error: APIError) -> bool:
    code = error.code or ""
    if code.startswith(_UNKNOWN_MODEL_CODES):
        return True
    return code.startswith("InvalidParameter") and "model not exist" in error.message.lower()


def explain_unknown_model(error: DashScopeError, model: object, host: str = "") -> None:
    """Add the fix to an unknown-model error (in place): the closest names in the model table
    ("did you mean 'qwen-turbo'?"), or, for a name the table knows, the region to check."""
    if not isinstance(error, APIError) or not isinstance(model, str) or not model:
        return
    if not _names_unknown_model(error) or "model=" in error.message:
        return
    from ._capabilities import KNOWN_MODELS, suggest_models

    close = [name for name in suggest_models(model, limit=3) if name != model][:2]
    if model in KNOWN_MODELS:
        where = f" at {host}" if host else ""
        hint = (
            f"{model!r} is a Qwen model, but not one this key can use{where}: check region= "
            "(or base_url) and the models enabled in your Model Studio console"
        )
    elif close:
        hint = f"did you mean {' or '.join(map(repr, close))}?"
    else:
        hint = "not a name in qwen_dashscope.KNOWN_MODELS; check the Model Studio model list"
    error.message = f"{error.message} (model={model!r}: {hint})"
    error.args = (error.message,)
