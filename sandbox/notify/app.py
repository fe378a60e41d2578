"""``create_app(settings)``: the Notification sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel, Field

from sandbox.faults import BasicFaults, FaultInjector, basic_fault_routes, injected_failure
from sandbox.notify import store
from sandbox.notify.settings import NotifySettings
from sandbox.sqlite import Database


@dataclass
class NotifyRuntime:
    settings: NotifySettings
    db: Database
    faults: FaultInjector[BasicFaults]


def runtime(request: Request) -> NotifyRuntime:
    value: NotifyRuntime = request.app.state.runtime
    return value


Runtime = Annotated[NotifyRuntime, Depends(runtime)]
router = APIRouter()


class NotificationIn(BaseModel):
    user_id: str = Field(min_length=1, max_length=255)
    template: str = Field(min_length=1, max_length=255)
    payload: dict[str, Any] = Field(default_factory=dict)
    dedup_key: str = Field(min_length=1, max_length=255)


@router.post("/api/v1/notifications", status_code=202)
async def send_notification(body: NotificationIn, rt: Runtime) -> dict[str, object]:
    notification_id, duplicate = await store.receive(
        rt.db, body.user_id, body.template, body.payload, body.dedup_key
    )
    return {"id": notification_id, "duplicate": duplicate}


@router.get("/api/v1/notifications")
async def list_notifications(
    rt: Runtime, user_id: str | None = None, dedup_key: str | None = None
) -> dict[str, object]:
    return {"items": await store.received(rt.db, user_id, dedup_key)}


def create_app(settings: NotifySettings) -> FastAPI:
    settings.validate_for_start()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await Database.open(settings.notify_db_path, store.SCHEMA)
        faults = FaultInjector(db, BasicFaults)
        await faults.load()
        app.state.runtime = NotifyRuntime(settings, db, faults)
        try:
            yield
        finally:
            await db.close()

    app = FastAPI(title="Notification sandbox", lifespan=lifespan)
    app.middleware("http")(_faults)
    app.include_router(router)
    app.include_router(basic_fault_routes)
    app.add_api_route("/healthz", _healthz, methods=["GET"])
    return app


async def _faults(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Faults hit sending only; listing stays reliable because tests read it to assert."""
    if request.method == "POST" and request.url.path == "/api/v1/notifications":
        failure = await injected_failure(runtime(request).faults)
        if failure is not None:
            return failure
    return await call_next(request)


async def _healthz() -> dict[str, str]:
    return {"status": "ok"}
