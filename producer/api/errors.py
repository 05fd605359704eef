"""How errors become HTTP answers: one table from tubeq's error classes to status codes.

Every answer is an ``ErrorBody`` (a stable ``error`` code and a ``message`` that says what
was wrong and what to do). Tracebacks never reach a response.
"""

from __future__ import annotations

import math
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from producer.api.schemas import ErrorBody, RejectedInput
from shared.errors import (
    ArtifactNotFound,
    InvalidInput,
    PermanentError,
    TransientError,
    TubeqError,
)

log = structlog.get_logger(__name__)

#: the error ``code`` an adapter uses for "this backend cannot do that" (a Worker's queue
#: binding cannot list dead letters, for instance); answered with 501
NOT_SUPPORTED = "not_supported"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


class NothingValid(InvalidInput):
    """None of the inputs is a valid video id or URL."""

    code = "no_valid_input"

    def __init__(self, rejected: list[RejectedInput]) -> None:
        reasons = "; ".join(f"videos[{r.index}]: {r.reason}" for r in rejected[:5])
        more = f" (and {len(rejected) - 5} more)" if len(rejected) > 5 else ""
        super().__init__(f"no valid video id in the request: {reasons}{more}")
        self.rejected = rejected


class NotServedHere(TubeqError):
    """This deployment of the API does not serve that; the message says which one does."""

    code = NOT_SUPPORTED


class VideoNotFound(TubeqError):
    """The video is unknown here."""

    code = "video_not_found"


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = ErrorBody(error=code, message=message, **extra)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def status_for(exc: TubeqError) -> int:
    if isinstance(exc, NothingValid):
        return 422
    if isinstance(exc, InvalidInput):
        return 400
    if isinstance(exc, ArtifactNotFound | VideoNotFound):
        return 404
    if exc.code == NOT_SUPPORTED:
        return 501
    if exc.systemic or isinstance(exc, TransientError):
        return 503  # this server is not set up for it, or an upstream is down: not the client
    if isinstance(exc, PermanentError):
        return 502  # an upstream refused; the message says which and why
    return 500


async def _tubeq_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TubeqError)
    status = status_for(exc)
    headers = None
    if isinstance(exc, TransientError):
        wait = exc.retry_after if exc.retry_after is not None else exc.min_delay_s
        if wait:
            headers = {"Retry-After": str(max(1, math.ceil(wait)))}
    if status >= 500:
        log.warning("api.request_failed", path=request.url.path, code=exc.code, status=status)
    rejected = exc.rejected if isinstance(exc, NothingValid) else None
    return error_response(status, exc.code, exc.message, headers, rejected=rejected)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, dict(exc.headers or {}))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
        for e in exc.errors()[:20]
    ]
    summary = "; ".join(f"{'.'.join(str(p) for p in d['loc'])}: {d['msg']}" for d in problems[:5])
    return error_response(
        422, "invalid_request", f"the request does not match the API: {summary}", detail=problems
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(TubeqError, _tubeq_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
