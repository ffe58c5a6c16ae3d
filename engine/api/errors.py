"""Errors in OpenAI's shape: {"error": {"message", "type", "param", "code"}} with the right HTTP status."""

from __future__ import annotations

from typing import Any

from engine.errors import LoragError
from engine.ratelimit import RateLimited

INVALID = "invalid_request_error"
NOT_FOUND = "not_found_error"
RATE = "requests"                  # what OpenAI calls the type of a rate-limit error
SERVER = "server_error"
UNAVAILABLE = "service_unavailable"


class ApiError(Exception):
    """A refusal the client can act on, sent as OpenAI's error JSON."""

    def __init__(self, status: int, message: str, type: str = INVALID, param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def from_lorag(exc: LoragError, param: str | None = None) -> ApiError:
    """An engine error a person caused, as an API error (rate limits become 429 with Retry-After)."""
    if isinstance(exc, RateLimited):
        return ApiError(429, str(exc), RATE, code="rate_limit_exceeded",
                        headers={"Retry-After": str(exc.retry_after)})
    if str(exc).startswith("No model is loaded"):
        return ApiError(503, f"{exc}", UNAVAILABLE, code="model_not_loaded")
    if str(exc).startswith("Out of memory"):
        return ApiError(507, str(exc), SERVER, code="out_of_memory")
    return ApiError(400, str(exc), INVALID, param=param)


def missing_credentials(reason: str) -> ApiError:
    return ApiError(401, reason, INVALID, code="invalid_api_key",
                    headers={"WWW-Authenticate": 'Bearer realm="lorag", Basic realm="lorag"'})
