"""``/v3/`` — the YooKassa API v3 subset, HTTP Basic ``shop_id:secret_key``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from sandbox.provider import commands, reports
from sandbox.provider.errors import (
    Forbidden,
    InjectedFailure,
    InvalidCredentials,
    InvalidRequest,
    TooManyRequests,
)
from sandbox.provider.runtime import ProviderRuntime, runtime

HANG_S = 3600.0
WEBHOOK_EVENTS = (
    "payment.waiting_for_capture",
    "payment.succeeded",
    "payment.canceled",
    "refund.succeeded",
    "refund.canceled",
)


async def v3_guard(
    request: Request, rt: Annotated[ProviderRuntime, Depends(runtime)]
) -> ProviderRuntime:
    """Injected faults come first ("before doing anything"), then authentication."""
    config = rt.faults.config
    if rt.faults.roll(config.error_rate):
        raise InjectedFailure("Internal server error (injected fault)")
    if rt.faults.roll(config.forbidden_rate):
        raise Forbidden("The operation is forbidden for this shop (injected fault)")
    if rt.faults.roll(config.too_many_requests_rate):
        raise TooManyRequests("Too many requests (injected fault)", config.retry_after_s)
    await rt.faults.delay()
    _authenticate(request.headers.get("authorization"), rt)
    return rt


Runtime = Annotated[ProviderRuntime, Depends(v3_guard)]
Key = Annotated[str | None, Header(alias="Idempotence-Key")]
router = APIRouter(prefix="/v3")


@router.post("/payments")
async def create_payment(request: Request, rt: Runtime, key: Key = None) -> dict[str, Any]:
    body = commands.parse_body(await request.body())
    payment = await rt.service.create_payment(commands.idempotence_key(key), body)
    await _maybe_hang(rt)
    return payment


@router.get("/payments")
async def list_payments(request: Request, rt: Runtime) -> dict[str, Any]:
    params = request.query_params.multi_items()
    return await reports.list_payments(rt.service.db, rt.settings, params)


@router.get("/payments/{payment_id}")
async def get_payment(payment_id: str, rt: Runtime) -> dict[str, Any]:
    return await rt.service.get_payment(payment_id)


@router.post("/refunds")
async def create_refund(request: Request, rt: Runtime, key: Key = None) -> dict[str, Any]:
    body = commands.parse_body(await request.body())
    refund = await rt.service.create_refund(commands.idempotence_key(key), body)
    await _maybe_hang(rt)
    return refund


@router.post("/payments/{payment_id}/capture")
async def capture_payment(
    payment_id: str, request: Request, rt: Runtime, key: Key = None
) -> dict[str, Any]:
    body = commands.parse_optional_body(await request.body())
    return await rt.service.capture_payment(commands.idempotence_key(key), payment_id, body)


@router.post("/payments/{payment_id}/cancel")
async def cancel_payment(
    payment_id: str, request: Request, rt: Runtime, key: Key = None
) -> dict[str, Any]:
    commands.only(commands.parse_optional_body(await request.body()), frozenset())
    return await rt.service.cancel_payment(commands.idempotence_key(key), payment_id)


@router.get("/refunds")
async def list_refunds(request: Request, rt: Runtime) -> dict[str, Any]:
    return await reports.list_refunds(rt.service.db, request.query_params.multi_items())


@router.get("/refunds/{refund_id}")
async def get_refund(refund_id: str, rt: Runtime) -> dict[str, Any]:
    return await rt.service.get_refund(refund_id)


@router.get("/me")
async def me(request: Request, rt: Runtime) -> dict[str, Any]:
    """The shop's settings (``Settings.get_account_settings``)."""
    _only_query(request, {"on_behalf_of"})
    receipts = rt.settings.provider_receipts_required
    return {
        "account_id": rt.settings.provider_shop_id,
        "status": "enabled",
        "test": True,
        "fiscalization_enabled": receipts,
        "fiscalization": {"enabled": receipts, "provider": "sandbox"},
        "payment_methods": ["bank_card"],
    }


@router.get("/webhooks")
async def list_webhooks(request: Request, rt: Runtime) -> dict[str, Any]:
    """The notifications the sandbox sends, all to the one configured URL (``Webhook.list``)."""
    _only_query(request, set())
    url = rt.settings.webhook_url
    items = [
        {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event} {url}")), "event": event, "url": url}
        for event in WEBHOOK_EVENTS
    ]
    return {"type": "list", "items": items}


def _only_query(request: Request, allowed: set[str]) -> None:
    for name in request.query_params:
        if name not in allowed:
            raise InvalidRequest(f"Unsupported parameter {name}", parameter=name)


async def _maybe_hang(rt: ProviderRuntime) -> None:
    """``timeout_after_commit``: the operation is committed; the answer never comes."""
    if rt.faults.roll(rt.faults.config.timeout_after_commit_rate):
        await asyncio.sleep(HANG_S)


def _authenticate(header: str | None, rt: ProviderRuntime) -> None:
    scheme, _, encoded = (header or "").partition(" ")
    try:
        decoded = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    shop_id, _, secret = decoded.partition(":")
    settings = rt.settings
    expected_secret = settings.provider_secret_key.get_secret_value()
    ok_shop = secrets.compare_digest(shop_id.encode(), settings.provider_shop_id.encode())
    ok_secret = secrets.compare_digest(secret.encode(), expected_secret.encode())
    if scheme.lower() != "basic" or not (ok_shop and ok_secret):
        raise InvalidCredentials(
            "Authentication by given credentials failed: check shop_id and secret key",
            parameter="Authorization",
        )
