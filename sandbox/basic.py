"""What the Auth and Notification sandboxes share: their runtime (settings, SQLite state,
basic faults) opened in the app's lifespan, the app around their router, and ``serve``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI, Request, Response

from common import logs
from sandbox.faults import BasicFaults, FaultInjector, basic_fault_routes
from sandbox.settings import SimulatorSettings, bind_address
from sandbox.sqlite import Database

S = TypeVar("S", bound=SimulatorSettings)
Middleware = Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]


@dataclass
class BasicRuntime(Generic[S]):
    settings: S
    db: Database
    faults: FaultInjector[BasicFaults]


def basic_app(
    title: str, settings: S, state: tuple[Path, str], router: APIRouter, middleware: Middleware
) -> FastAPI:
    """The app: ``router`` behind ``middleware``, the fault routes and ``/healthz``; ``state``
    is the SQLite file and its schema, opened for the app's lifetime."""
    db_path, schema = state

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await Database.open(db_path, schema)
        faults = FaultInjector(db, BasicFaults)
        await faults.load()
        app.state.runtime = BasicRuntime(settings, db, faults)
        try:
            yield
        finally:
            await db.close()

    app = FastAPI(title=title, lifespan=lifespan)
    app.middleware("http")(middleware)
    app.include_router(router)
    app.include_router(basic_fault_routes)
    app.add_api_route("/healthz", _healthz, methods=["GET"])
    return app


def serve(create_app: Callable[[S], FastAPI], settings: S, program: str, url: str) -> None:
    """Run the app on the host/port of its public ``url``, logging as ``program``."""
    logs.configure(settings.log_level, program, settings.log_format)
    host, port = bind_address(url)
    uvicorn.run(
        create_app(settings), host=host, port=port, timeout_graceful_shutdown=2, log_config=None
    )


async def _healthz() -> dict[str, str]:
    return {"status": "ok"}
