"""What the simulators share: ``serve`` (all three), and the runtime of Auth and
Notification (settings, SQLite state, basic faults) opened in the app's lifespan and the app
around their router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import uvicorn
from fastapi import APIRouter, FastAPI
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope

from common import logs
from sandbox.faults import BasicFaults, FaultInjector, basic_fault_routes
from sandbox.settings import SimulatorSettings, bind_address
from sandbox.sqlite import Database

S = TypeVar("S", bound=SimulatorSettings)
Middleware = Callable[[ASGIApp], ASGIApp]


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
    app.add_middleware(middleware)
    app.include_router(router)
    app.include_router(basic_fault_routes)
    app.add_api_route("/healthz", _healthz, methods=["GET"])
    return app


def serve(create_app: Callable[[S], FastAPI], settings: S, program: str, url: str) -> None:
    """Run the app on the host/port of its public ``url``, logging as ``program``.

    - No access log: a structlog line per request was ~16 % of Auth's CPU under `make bench`
      (docs/performance.md, round 11), and what it said is kept anyway: Auth logs every
      ``/api/v1/`` call in its call log, Notify every notification, the provider every
      payment, refund and webhook delivery in its tables.
    - No X-Forwarded-* middleware: nothing stands in front of a simulator, and it parsed the
      client's address against its trusted list on every request (~2 % of the provider's).
    - uvloop + httptools (uvicorn[standard]) named rather than left to "auto", so a missing
      extra fails loudly instead of silently halving a simulator's throughput.
    - A short graceful shutdown: requests the provider hangs (``timeout_after_commit``) must
      not block a stop.
    """
    logs.configure(settings.log_level, program, settings.log_format)
    host, port = bind_address(url)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        timeout_graceful_shutdown=2,
        access_log=False,
        proxy_headers=False,
        log_config=None,
        loop="uvloop",
        http="httptools",
    )


def runtime_of(scope: Scope) -> BasicRuntime[Any]:
    """The runtime of the app a request came to (Starlette puts the app in the scope)."""
    value: BasicRuntime[Any] = scope["app"].state.runtime
    return value


async def read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a `receive` that hands it to the app again."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client left mid-body: nothing to serve
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    raw, given = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return raw, replay


def is_last(message: Message) -> bool:
    """Whether `message` is the one that completes a response (its body's last part)."""
    return message["type"] == "http.response.body" and not message.get("more_body", False)


async def _healthz() -> dict[str, str]:
    return {"status": "ok"}
