"""The app factory: `create_app(settings)` wires routes, error handlers and middlewares.

Nothing connects at import time. The lifespan opens the PostgreSQL pool (lazily: no
connection yet) and tries Kafka once; neither being down stops the gateway from starting,
it answers 503 (and /readyz 503) until they are back.
"""

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import openapi
from gateway.accept_batches import AcceptBatches
from gateway.database import Database
from gateway.deps import Services, refusal_before_the_body, take_before_refusing
from gateway.errors import GatewayError, RateLimited, ServiceUnavailable, ValidationFailed
from gateway.metrics import Metrics
from gateway.middleware import EdgeMiddleware
from gateway.publisher import ProducerFactory, Publisher, default_producer
from gateway.ratelimit import RateLimiter
from gateway.routes import health, payments, plans, refunds, subscription, webhooks
from gateway.settings import GatewaySettings
from gateway.waiting import PaymentWaiters
from gateway.webhook_limits import SourceLimiter

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 406: "not_acceptable"}


def create_app(
    settings: GatewaySettings | None = None, producer_factory: ProducerFactory = default_producer
) -> FastAPI:
    settings = settings or GatewaySettings()
    db = Database(settings)
    limiter = RateLimiter(settings.gateway_rate_limit_per_minute, db)
    svc = Services(
        settings=settings,
        db=db,
        publisher=Publisher(settings, producer_factory),
        metrics=Metrics(),
        limiter=limiter,
        accepts=AcceptBatches(
            db, limiter, settings.gateway_accept_batch_max, settings.gateway_accept_writers
        ),
        waiters=PaymentWaiters(settings, db),
        webhook_limiter=SourceLimiter(
            settings.webhook_rate_per_source_per_minute, settings.webhook_rate_total_per_minute
        ),
    )
    app = FastAPI(
        title="Billing gateway",
        version="1",
        lifespan=_lifespan,
        docs_url=None,  # served by gateway.openapi from local assets
        redoc_url=None,
        generate_unique_id_function=openapi.camel_operation_id,
        # No OpenTelemetry here (Prometheus, gateway.metrics): off, FastAPI skips its
        # per-request look-up of the global providers (os.environ reads on every request).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = svc
    routers = [m.router for m in (plans, payments, refunds, subscription, webhooks, health)]
    for router in routers:
        app.include_router(router)
    openapi.install(app, routers)
    _install_error_handlers(app)
    app.add_middleware(
        EdgeMiddleware, metrics=svc.metrics, max_bytes=settings.gateway_max_body_bytes
    )
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    svc: Services = app.state.services
    await svc.db.open()
    await svc.publisher.try_connect()
    await svc.waiters.start()
    # Everything made so far (modules, the app, its routes and models) lives as long as the
    # process: out of the collector's sight, a full collection walks only what came since.
    gc.freeze()
    try:
        yield
    finally:
        await svc.waiters.close()
        await svc.publisher.close()
        await svc.accepts.aclose()  # before the pool: a retry alone holds a connection
        await svc.db.close()


def error_response(status: int, code: str, message: str, headers: dict[str, str]) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_gateway_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, GatewayError):  # registered for GatewayError only
            raise exc
        if exc.status in (400, 422):
            exc = await _metered_first(request, exc)
        if isinstance(exc, ServiceUnavailable):
            app.state.services.metrics.unavailable.labels(_dependency(exc)).inc()
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        errors: Sequence[Any] = exc.errors() if isinstance(exc, RequestValidationError) else []
        if any(error.get("type") == "json_invalid" for error in errors):
            first = await refusal_before_the_body(request)
            if first is not None:
                return await on_gateway_error(request, first)
        refused = await _metered_first(request, ValidationFailed())
        if not isinstance(refused, ValidationFailed):
            return await on_gateway_error(request, refused)
        message = "; ".join(_describe(error) for error in errors) or "invalid request"
        return error_response(422, "validation_error", message, {})

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI's 400 for such a body
            return await on_validation_error(request, _not_utf8())
        if isinstance(exc.__cause__, GatewayError):  # its 400 for a body it could not read:
            return await on_gateway_error(request, exc.__cause__)  # too large (EdgeMiddleware)
        status = exc.status_code if isinstance(exc, StarletteHTTPException) else 500
        detail = exc.detail if isinstance(exc, StarletteHTTPException) else "error"
        code = HTTP_CODES.get(status, "http_error")
        return error_response(status, code, str(detail), getattr(exc, "headers", None) or {})

    app.add_exception_handler(GatewayError, on_gateway_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


async def _metered_first(request: Request, exc: GatewayError) -> GatewayError:
    """`exc`, or the 429/503 a metered POST gets first (`deps.take_before_refusing`)."""
    try:
        await take_before_refusing(request, request.app.state.services)
    except (RateLimited, ServiceUnavailable) as refused:
        return refused
    return exc


def _not_utf8() -> RequestValidationError:
    """A body that is not UTF-8 is not JSON either: refused as one (`refusal_before_the_body`)."""
    error = {"type": "json_invalid", "loc": ("body",), "msg": "the body is not UTF-8 JSON"}
    return RequestValidationError([error])


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}"


def _dependency(exc: ServiceUnavailable) -> str:
    return type(exc).__name__.removesuffix("Unavailable").lower() or "service"
