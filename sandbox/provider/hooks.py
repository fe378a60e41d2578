"""``/sandbox/`` — test hooks that real YooKassa does not have: confirm, ledger, faults."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from sandbox.provider import store
from sandbox.provider.errors import InvalidRequest, UnknownCard
from sandbox.provider.faults import ProviderFaults
from sandbox.provider.runtime import ProviderRuntime, runtime

router = APIRouter(prefix="/sandbox")
Runtime = Annotated[ProviderRuntime, Depends(runtime)]


class ConfirmBody(BaseModel):
    card_number: str


@router.post("/payments/{payment_id}/confirm")
async def confirm_payment(payment_id: str, body: ConfirmBody, rt: Runtime) -> dict[str, Any]:
    """What the person does on the payment page, through the same code path."""
    try:
        return await rt.service.confirm_payment(payment_id, body.card_number)
    except UnknownCard as exc:
        raise InvalidRequest("This card is not accepted", parameter="card_number") from exc


@router.get("/ledger")
async def ledger(rt: Runtime) -> dict[str, Any]:
    return await rt.service.ledger()


@router.get("/deliveries")
async def deliveries(rt: Runtime, object_id: str | None = None) -> dict[str, Any]:
    """Webhook deliveries with their status (pending/delivered/dropped) and attempt times."""
    async with rt.service.db.reading() as conn:
        return {"items": await store.list_deliveries(conn, object_id)}


@router.get("/faults")
async def get_faults(rt: Runtime) -> ProviderFaults:
    return rt.faults.config


@router.post("/faults")
async def set_faults(body: ProviderFaults, rt: Runtime) -> ProviderFaults:
    return await rt.faults.set(body)


@router.delete("/faults")
async def reset_faults(rt: Runtime) -> ProviderFaults:
    return await rt.faults.reset()
