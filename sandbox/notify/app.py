"""``create_app(settings)``: the Notification sandbox."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.basic import BasicRuntime, basic_app, runtime_of
from sandbox.faults import injected_failure
from sandbox.notify import store
from sandbox.notify.settings import NotifySettings


def runtime(request: Request) -> BasicRuntime[NotifySettings]:
    value: BasicRuntime[NotifySettings] = request.app.state.runtime
    return value


async def _runtime(request: Request) -> BasicRuntime[NotifySettings]:
    """``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, one
    thread hop per request for an attribute read (as in sandbox/provider/runtime.py)."""
    return runtime(request)


Runtime = Annotated[BasicRuntime[NotifySettings], Depends(_runtime)]
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
    rt: Runtime,
    user_id: str | None = None,
    dedup_key: str | None = None,
    after: int = Query(0, ge=0, le=2**63 - 1),
) -> dict[str, object]:
    """`after`: only the receipts whose `seq` is greater, so a watcher reads each once;
    `last_seq`: the newest receipt's, where a watcher that ignores the past starts."""
    items, last_seq = await store.received(rt.db, user_id, dedup_key, after)
    return {"items": items, "last_seq": last_seq}


def create_app(settings: NotifySettings) -> FastAPI:
    settings.validate_for_start()
    state = (settings.notify_db_path, store.SCHEMA)
    return basic_app("Notification sandbox", settings, state, router, _Faults)


class _Faults:
    """Faults hit sending only; listing stays reliable because tests read it to assert.
    Pure ASGI: Starlette's ``BaseHTTPMiddleware`` costs a task and two streams per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sending = (scope["type"], scope.get("method"), scope.get("path")) == (
            "http",
            "POST",
            "/api/v1/notifications",
        )
        failure = await injected_failure(runtime_of(scope).faults) if sending else None
        await (failure or self.app)(scope, receive, send)
