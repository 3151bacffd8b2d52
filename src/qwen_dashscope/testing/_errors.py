"""Service errors and their two wire envelopes (protocol doc §6)."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error the emulated service answers with (status, code, message).

    (Not to be confused with the client's ``qwen_dashscope.APIError``, what a client raises
    when it receives such an answer.)
    """

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ServiceError) and (self.status, self.code, self.message) == (
            other.status,
            other.code,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.status, self.code, self.message))


def invalid(message: str, code: str = "InvalidParameter") -> ServiceError:
    """400 InvalidParameter, the code of almost every validation failure (§6.3)."""
    return ServiceError(400, code, message)


def invalid_api_key() -> ServiceError:
    return ServiceError(401, "InvalidApiKey", "Invalid API-key provided.")


def body_invalid() -> ServiceError:
    return invalid("Required body invalid, please check the request body format.")


def model_not_exist() -> ServiceError:
    return invalid("Model not exist.")


def url_error() -> ServiceError:
    # [DOC] the message ends with a FULLWIDTH EXCLAMATION MARK.
    return invalid("url error, please check url\uff01")


def empty_input() -> ServiceError:
    return ServiceError(
        400, "BadRequest.EmptyInput", "Required input parameter missing from request."
    )


def empty_model() -> ServiceError:
    return ServiceError(
        400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.'
    )


# Compatible-mode (type, code) pairs, from the doc's "401-InvalidApiKey/invalid_api_key" titles.
_COMPAT_CODES: dict[str, tuple[str, str]] = {
    "InvalidApiKey": ("invalid_request_error", "invalid_api_key"),
    "InvalidParameter": ("invalid_request_error", "invalid_parameter_error"),
    "AccessDenied": ("invalid_request_error", "access_denied"),
    "ModelNotFound": ("invalid_request_error", "model_not_found"),
    "Throttling": ("requests", "Throttling"),
    "Throttling.RateQuota": ("requests", "limit_requests"),
    "Throttling.BurstRate": ("requests", "limit_burst_rate"),
    "Throttling.AllocationQuota": ("insufficient_quota", "insufficient_quota"),
    "DataInspectionFailed": ("data_inspection_failed", "data_inspection_failed"),
    "Arrearage": ("Arrearage", "Arrearage"),
    "InternalError": ("internal_error", "internal_error"),
}

_COMPAT_MESSAGES = {
    # §6.2 [3P-CAP 2026]: compat words the auth failure differently from native.
    "InvalidApiKey": (
        "Incorrect API key provided. For details, see: "
        "https://help.aliyun.com/zh/model-studio/error-code#apikey-error"
    ),
}


def native_error_body(error: ServiceError, request_id: str) -> dict[str, Any]:
    """Native flat envelope ``{"code","message","request_id"}`` [CAP]."""
    return {"code": error.code, "message": error.message, "request_id": request_id}


def compat_error_body(error: ServiceError, request_id: str) -> dict[str, Any]:
    """OpenAI envelope plus top-level ``request_id`` [3P-CAP, §6.2]."""
    base = error.code.split(".")[0] if error.code.startswith("InvalidParameter") else error.code
    kind, code = _COMPAT_CODES.get(
        base, ("invalid_request_error" if error.status < 500 else "internal_error", error.code)
    )
    return {
        "error": {
            "message": _COMPAT_MESSAGES.get(error.code, error.message),
            "type": kind,
            "param": None,
            "code": code,
        },
        "request_id": request_id,
    }
