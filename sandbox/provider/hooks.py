"""``/sandbox/`` — test hooks real YooKassa lacks: confirm, saved-card scripts, ledger, faults."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, field_validator

from sandbox.provider import methods, reports, store
from sandbox.provider.cards import AUTOPAYMENT_RESULTS, SUCCEEDED
from sandbox.provider.domain import RefundStatus
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


@router.post("/payments/{payment_id}/expire")
async def expire_payment(payment_id: str, rt: Runtime) -> dict[str, Any]:
    """Run out the clock of a pending (or uncaptured) payment now, through the sweeper."""
    return await rt.sweeper.expire_now(payment_id)


class ScriptMethodBody(BaseModel):
    """Either field alone is fine; ``next_results`` replaces the queue of scripted outcomes."""

    model_config = ConfigDict(extra="forbid")

    next_results: list[str] | None = None
    revoked: bool | None = None

    @field_validator("next_results")
    @classmethod
    def _known(cls, results: list[str] | None) -> list[str] | None:
        allowed = AUTOPAYMENT_RESULTS | {SUCCEEDED}
        unknown = sorted(set(results or ()) - allowed)
        if unknown:
            raise ValueError(f"unknown results {unknown}; use one of {sorted(allowed)}")
        return results


@router.post("/payment_methods/{method_id}")
async def script_payment_method(
    method_id: str, body: ScriptMethodBody, rt: Runtime
) -> dict[str, Any]:
    return await methods.script(rt.service.db, method_id, body.next_results, body.revoked)


@router.get("/payment_methods/{method_id}")
async def get_payment_method(method_id: str, rt: Runtime) -> dict[str, Any]:
    return await methods.script(rt.service.db, method_id, None, None)


class SettleRefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["succeeded", "canceled"]
    reason: str | None = None


@router.post("/refunds/{refund_id}/settle")
async def settle_refund(refund_id: str, body: SettleRefundBody, rt: Runtime) -> dict[str, Any]:
    """Settle a ``pending`` refund now instead of after ``PROVIDER_REFUND_SETTLE_S``."""
    return await rt.sweeper.settle_refund(refund_id, RefundStatus(body.status), body.reason)


@router.get("/ledger")
async def ledger(rt: Runtime, user_id: str | None = None) -> dict[str, Any]:
    """The ground truth; ``?user_id=`` keeps one user's payments (their ``metadata.user_id``)
    and their refunds, so a test need not read every payment a long-lived stack made."""
    return await reports.ledger(rt.service.db, user_id)


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
