"""``create_app(settings)``: the provider's FastAPI app; nothing runs until its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sandbox.provider import api, checkout, error_handlers, hooks
from sandbox.provider.runtime import open_runtime
from sandbox.provider.settings import ProviderSettings


def create_app(settings: ProviderSettings) -> FastAPI:
    settings.validate_for_start()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings) as rt:
            app.state.runtime = rt
            yield

    app = FastAPI(title="Sandbox payment provider (YooKassa API v3 subset)", lifespan=lifespan)
    error_handlers.install(app)
    app.include_router(api.router)
    app.include_router(checkout.router)
    app.include_router(hooks.router)
    app.add_api_route("/healthz", _healthz, methods=["GET"])
    return app


async def _healthz() -> dict[str, str]:
    return {"status": "ok"}
