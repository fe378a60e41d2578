"""Every error the provider can answer, rendered as YooKassa's error object.

FastAPI's own error bodies (one ``detail`` member: an unknown route, a wrong method, a body
that fails validation, an unhandled exception) are replaced here, so that a client such as
the official SDK always gets ``{"type": "error", "id", "code", "description", "parameter"}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sandbox.provider.errors import (
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    ProviderError,
)

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ProviderError, _provider_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def render(exc: ProviderError) -> JSONResponse:
    return JSONResponse(exc.to_wire(), status_code=exc.status_code, headers=exc.headers)


async def _provider_error(_: Request, exc: ProviderError) -> JSONResponse:
    return render(exc)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    where = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    message = str(first.get("msg", "Invalid request"))
    return render(InvalidRequest(message, parameter=".".join(where) or None))


async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 405:
        return render(MethodNotAllowed("Method not allowed for this resource"))
    if exc.status_code == 404:
        return render(NotFound("Resource not found"))
    error = ProviderError(str(exc.detail))
    error.status_code = exc.status_code
    error.code = "invalid_request" if exc.status_code < 500 else "internal_server_error"
    return render(error)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return render(ProviderError("Internal server error"))
