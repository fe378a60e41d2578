"""``create_app(settings)``: the provider's FastAPI app; nothing runs until its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox.provider import api, checkout, hooks
from sandbox.provider.errors import ProviderError
from sandbox.provider.runtime import open_runtime
from sandbox.provider.settings import ProviderSettings


def create_app(
    settings: ProviderSettings, webhook_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    settings.validate_for_start()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, webhook_transport) as rt:
            app.state.runtime = rt
            yield

    app = FastAPI(title="Sandbox payment provider (YooKassa API v3 subset)", lifespan=lifespan)
    app.add_exception_handler(ProviderError, _provider_error)  # type: ignore[arg-type]
    app.include_router(api.router)
    app.include_router(checkout.router)
    app.include_router(hooks.router)
    app.add_api_route("/healthz", _healthz, methods=["GET"])
    return app


async def _provider_error(_: Request, exc: ProviderError) -> JSONResponse:
    return JSONResponse(exc.to_wire(), status_code=exc.status_code)


async def _healthz() -> dict[str, str]:
    return {"status": "ok"}
