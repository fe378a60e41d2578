"""``create_app(settings)``: the Auth sandbox; state and faults open in its lifespan."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.auth import store, tokens
from sandbox.auth.settings import AuthSettings
from sandbox.basic import BasicRuntime, basic_app, is_last, read_body, runtime_of
from sandbox.clock import now_iso
from sandbox.faults import injected_failure

UNLOGGED = {"/api/v1/calls"}
SQLITE_MAX = 2**63 - 1


def runtime(request: Request) -> BasicRuntime[AuthSettings]:
    value: BasicRuntime[AuthSettings] = request.app.state.runtime
    return value


async def _runtime(request: Request) -> BasicRuntime[AuthSettings]:
    """``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, one
    thread hop per request for an attribute read (as in sandbox/provider/runtime.py)."""
    return runtime(request)


Runtime = Annotated[BasicRuntime[AuthSettings], Depends(_runtime)]

router = APIRouter()


class TokenRequest(BaseModel):
    user_id: uuid.UUID
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    """The token's ``email`` claim (54-FZ receipts need a contact): given, or made up from the
    user id when absent; an explicit ``null`` issues a token without one."""

    def claimed_email(self) -> str | None:
        if "email" in self.model_fields_set:
            return self.email
        return f"{self.user_id}@users.auth-sandbox.test"


class RoleRequest(BaseModel):
    role: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")


@router.post("/api/v1/token")
async def issue_token(body: TokenRequest, rt: Runtime) -> dict[str, object]:
    roles = await store.roles_of(rt.db, str(body.user_id))
    return tokens.issue(rt.settings, body.user_id, roles, body.claimed_email())


@router.post("/api/v1/users/{user_id}/roles")
async def grant_role(user_id: uuid.UUID, body: RoleRequest, rt: Runtime) -> dict[str, object]:
    """Idempotent: granting a role the user has already is a 200 with the same roles."""
    roles = await store.grant(rt.db, str(user_id), body.role, now_iso())
    return {"user_id": str(user_id), "roles": roles}


@router.delete("/api/v1/users/{user_id}/roles/{role}")
async def revoke_role(user_id: uuid.UUID, role: str, rt: Runtime) -> dict[str, object]:
    """Idempotent: revoking a role the user does not have is a 200 too."""
    return {"user_id": str(user_id), "roles": await store.revoke(rt.db, str(user_id), role)}


@router.get("/api/v1/users/{user_id}/roles")
async def list_roles(user_id: uuid.UUID, rt: Runtime) -> dict[str, object]:
    return {"user_id": str(user_id), "roles": await store.roles_of(rt.db, str(user_id))}


@router.get("/api/v1/calls")
async def list_calls(
    rt: Runtime, user_id: str | None = None, after: int = Query(0, ge=0, le=SQLITE_MAX)
) -> dict[str, object]:
    """`after`: only the calls whose `seq` is greater, so a watcher reads each call once;
    `last_seq`: the newest call's, where a watcher that ignores the past starts."""
    items, last_seq = await store.calls(rt.db, user_id, after)
    return {"items": items, "last_seq": last_seq}


def create_app(settings: AuthSettings) -> FastAPI:
    settings.validate_for_start()
    state = (settings.auth_db_path, store.SCHEMA)
    return basic_app("Auth sandbox", settings, state, router, _FaultsAndCallLog)


class _FaultsAndCallLog:
    """Every ``/api/v1/`` call is logged in order, including the ones a fault failed; the
    log row is written before the response's last part is sent, so a client that got its
    answer finds its call in the log. Pure ASGI: Starlette's ``BaseHTTPMiddleware`` costs a
    task and two streams per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/v1/") or path in UNLOGGED:
            await self.app(scope, receive, send)
            return
        rt = runtime_of(scope)
        raw, receive = await read_body(receive)
        status = 500

        async def logging_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif is_last(message):
                await store.log_call(rt.db, _call(scope["method"], path, raw, status))
            await send(message)

        failure = await injected_failure(rt.faults)
        await (failure or self.app)(scope, receive, logging_send)


def _call(method: str, path: str, raw: bytes, status: int) -> dict[str, Any]:
    body = _json_or_text(raw)
    user_id = _user_of(path, body)
    return {
        "method": method,
        "path": path,
        "user_id": user_id,
        "body": body,
        "status": status,
        "at": now_iso(),
    }


def _json_or_text(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _user_of(path: str, body: Any) -> str | None:
    parts = path.split("/")
    if len(parts) > 4 and parts[3] == "users":
        return parts[4]
    if isinstance(body, dict) and isinstance(body.get("user_id"), str):
        return str(body["user_id"])
    return None
