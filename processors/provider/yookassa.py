"""YooKassa API v3 client: the only code that speaks to the provider.

Every POST carries `Idempotence-Key` = `schemas.ids.provider_idempotence_key(kind, our_id)`,
so retries, redeliveries and replays of one payment or refund all name the same provider
object: the sandbox's `timeout_after_commit` (the work is done, the answer never comes) is
survived by timing out and asking again with the same key. Transient failures (5xx, 429,
timeouts, connection errors) are retried here a bounded number of times with exponential
backoff and jitter; what is still failing is raised as `ProviderUnavailable` for the caller
to leave to the reconciler. 4xx answers are `ProviderRejected`, never retried.

What comes back is a typed `ProviderPayment` / `ProviderRefund` (`objects.py`), built here:
YooKassa's field names and wire statuses stop at this file. `PAYMENT_STATUS` and
`REFUND_STATUS` translate YooKassa's own status strings into ours.
"""

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from common import logs
from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors.errors import (
    ProviderAnswerInvalid,
    ProviderNotFound,
    ProviderRejected,
    ProviderUnavailable,
)
from processors.provider.descriptions import refund_description, refund_id_in
from processors.provider.http import (
    HttpAnswer,
    ProviderHttp,
    ProviderHttpError,
    basic_authorization,
)
from processors.provider.objects import ProviderPayment, ProviderRefund, SavedCard, as_uuid
from processors.provider.throttling import pause_before_retry, throttled
from schemas.ids import provider_idempotence_key

PAYMENT_STATUS: dict[str, PaymentStatus] = {
    "pending": PaymentStatus.PENDING,
    "waiting_for_capture": PaymentStatus.PENDING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}
REFUND_STATUS: dict[str, RefundStatus] = {
    "pending": RefundStatus.ACCEPTED,
    "succeeded": RefundStatus.SUCCEEDED,
    "canceled": RefundStatus.FAILED,
}
TRANSIENT_STATUS = frozenset({401, 429})  # 401: our credentials, an operator fixes them


@dataclass(frozen=True)
class Autopayment:
    """A charge of a saved card for one period of a subscription."""

    user_id: UUID
    subscription_id: UUID
    period: int
    amount: Decimal
    currency: str
    payment_method_id: str
    description: str
    receipt: dict[str, Any] | None = None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    timeout_s: float = 5.0
    backoff_s: float = 0.2
    backoff_cap_s: float = 5.0

    def delay(self, attempt: int) -> float:
        """Full jitter over an exponential ceiling (attempt counts from 1)."""
        ceiling = min(self.backoff_cap_s, self.backoff_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def money(amount: Decimal, currency: str) -> dict[str, str]:
    return {"value": f"{amount:.2f}", "currency": currency}


def payment_status(obj: dict[str, Any]) -> PaymentStatus:
    try:
        return PAYMENT_STATUS[str(obj.get("status"))]
    except KeyError as exc:
        unknown = f"unknown provider payment status {obj.get('status')!r}"
        raise ProviderAnswerInvalid(unknown) from exc


def refund_status(obj: dict[str, Any]) -> RefundStatus:
    try:
        return REFUND_STATUS[str(obj.get("status"))]
    except KeyError as exc:
        unknown = f"unknown provider refund status {obj.get('status')!r}"
        raise ProviderAnswerInvalid(unknown) from exc


def cancellation_reason(obj: dict[str, Any]) -> str:
    details = obj.get("cancellation_details") or {}
    return str(details.get("reason") or "canceled")


def _amount(obj: dict[str, Any]) -> tuple[Decimal | None, str]:
    amount = obj.get("amount") or {}
    try:
        value: Decimal | None = Decimal(str(amount.get("value")))
    except InvalidOperation:
        value = None
    if value is not None and not value.is_finite():
        value = None
    return value, str(amount.get("currency") or "")


def payment_of(obj: dict[str, Any]) -> ProviderPayment:
    """A YooKassa payment object in our terms; the JSON is kept only to be stored."""
    amount, currency = _amount(obj)
    confirmation = obj.get("confirmation") or {}
    url = confirmation.get("confirmation_url")
    return ProviderPayment(
        id=str(obj.get("id")),
        status=payment_status(obj),
        amount=amount,
        currency=currency,
        our_payment_id=as_uuid((obj.get("metadata") or {}).get("payment_id")),
        confirmation_url=None if url is None else str(url),
        cancellation_reason=cancellation_reason(obj),
        saved_card=saved_card_of(obj),
        raw=obj,
    )


def saved_card_of(obj: dict[str, Any]) -> SavedCard | None:
    """The saved card a payment carries once `save_payment_method` succeeded, if any."""
    method = obj.get("payment_method") or {}
    if not method.get("saved") or not method.get("id"):
        return None
    card = method.get("card") or {}
    month, year = card.get("expiry_month"), card.get("expiry_year")
    expiry = f"{month}/{year}" if month and year else None
    last4 = card.get("last4")
    return SavedCard(str(method["id"]), None if last4 is None else str(last4), expiry)


def refund_of(obj: dict[str, Any]) -> ProviderRefund:
    amount, currency = _amount(obj)
    return ProviderRefund(
        id=str(obj.get("id")),
        payment_id=str(obj.get("payment_id")),
        status=refund_status(obj),
        amount=amount,
        currency=currency,
        cancellation_reason=cancellation_reason(obj),
        raw=obj,
        our_refund_id=refund_id_in(obj.get("description")),
    )


class YooKassaClient:
    def __init__(
        self, http: ProviderHttp, policy: RetryPolicy, max_concurrent: int | None = None
    ) -> None:
        self._http = http
        self._policy = policy
        # At most as many requests in flight as the pool has connections: the rest wait here,
        # outside the per-attempt timeout, so a wait for a connection never becomes a timeout.
        self._slots = asyncio.Semaphore(max_concurrent) if max_concurrent else None

    async def create_payment(
        self,
        payment_id: UUID,
        user_id: UUID,
        amount: Decimal,
        currency: str,
        return_url: str,
        description: str = "",
        *,
        save_payment_method: bool = False,
        receipt: dict[str, Any] | None = None,
    ) -> ProviderPayment:
        body: dict[str, Any] = {
            "amount": money(amount, currency),
            "capture": True,
            "confirmation": {"type": "redirect", "return_url": return_url},
            "metadata": {"payment_id": str(payment_id), "user_id": str(user_id)},
        }
        if save_payment_method:  # the user's consent to renew (CONTRACT §2a)
            body["save_payment_method"] = True
        if description:
            body["description"] = description[:128]
        if receipt is not None:  # 54-FZ (processors/provider/receipts.py)
            body["receipt"] = receipt
        key = provider_idempotence_key("payment", payment_id)
        return payment_of(await self._call("POST", "/v3/payments", body, key))

    async def create_refund(
        self,
        refund_id: UUID,
        payment_external_id: str,
        amount: Decimal,
        currency: str,
        *,
        receipt: dict[str, Any] | None = None,
    ) -> ProviderRefund:
        body: dict[str, Any] = {
            "payment_id": payment_external_id,
            "amount": money(amount, currency),
            "description": refund_description(refund_id),
        }
        if receipt is not None:
            body["receipt"] = receipt
        key = provider_idempotence_key("refund", refund_id)
        return refund_of(await self._call("POST", "/v3/refunds", body, key))

    async def create_autopayment(self, payment_id: UUID, charge: "Autopayment") -> ProviderPayment:
        """Charge a saved card with nobody present: no `confirmation`, a final status at once."""
        body: dict[str, Any] = {
            "amount": money(charge.amount, charge.currency),
            "capture": True,
            "payment_method_id": charge.payment_method_id,
            "description": charge.description[:128],
            "metadata": {
                "payment_id": str(payment_id),
                "user_id": str(charge.user_id),
                "subscription_id": str(charge.subscription_id),
                "period": str(charge.period),
            },
        }
        if charge.receipt is not None:
            body["receipt"] = charge.receipt
        key = provider_idempotence_key("payment", payment_id)
        return payment_of(await self._call("POST", "/v3/payments", body, key))

    async def list_payments(
        self, created_gte: datetime, created_lt: datetime, cursor: str | None = None
    ) -> tuple[list[ProviderPayment], str | None]:
        """One page of YooKassa's list call for a time range: the payments and the next cursor."""
        params = {
            "created_at.gte": created_gte.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "created_at.lt": created_lt.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "limit": "100",
        }
        if cursor:
            params["cursor"] = cursor
        page = await self._call("GET", f"/v3/payments?{urlencode(params)}")
        items = [payment_of(item) for item in page.get("items") or []]
        return items, page.get("next_cursor") or None

    async def list_refunds(
        self, payment_external_id: str, cursor: str | None = None
    ) -> tuple[list[ProviderRefund], str | None]:
        """One page of YooKassa's refund list for one payment: the refunds and the next cursor."""
        params = {"payment_id": payment_external_id, "limit": "100"}
        if cursor:
            params["cursor"] = cursor
        page = await self._call("GET", f"/v3/refunds?{urlencode(params)}")
        items = [refund_of(item) for item in page.get("items") or []]
        return items, page.get("next_cursor") or None

    async def get_payment(self, external_id: str) -> ProviderPayment:
        return payment_of(await self._call("GET", f"/v3/payments/{external_id}"))

    async def get_refund(self, external_id: str) -> ProviderRefund:
        return refund_of(await self._call("GET", f"/v3/refunds/{external_id}"))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, key: str | None = None
    ) -> dict[str, Any]:
        # The request id of the API call that started this (from the Kafka header), if any.
        headers = {**logs.http_headers(), **({"Idempotence-Key": key} if key else {})}

        async def once() -> HttpAnswer:
            async with self._slots or contextlib.nullcontext():
                return await self._http.send(method, path, body, headers, self._policy.timeout_s)

        return await with_retries(once, self._policy, f"{method} {path}")


async def with_retries(
    send: Callable[[], Awaitable[HttpAnswer]], policy: RetryPolicy, what: str
) -> dict[str, Any]:
    last: ProviderUnavailable | None = None
    for attempt in range(1, policy.attempts + 1):
        try:
            return parse(await send())
        except ProviderHttpError as exc:
            last = ProviderUnavailable(f"{what}: {exc}")
            last.__cause__ = exc
        except ProviderUnavailable as exc:
            last = exc
        if attempt < policy.attempts:
            await asyncio.sleep(pause_before_retry(last, policy.delay(attempt)))
    if last is None:  # attempts >= 1, so a failure was recorded
        raise ProviderUnavailable(f"{what}: no attempt made")
    raise last


def parse(response: HttpAnswer) -> dict[str, Any]:
    status = response.status
    if status == 429:
        raise throttled(response)
    if status >= 500 or status in TRANSIENT_STATUS:
        raise ProviderUnavailable(f"provider answered {status}: {response.text[:200]}")
    body = _json(response)
    if status == 404:
        raise ProviderNotFound(
            str(body.get("description", "not found")),
            status_code=404,
            code=str(body.get("code", "not_found")),
        )
    if status >= 400:
        raise ProviderRejected(
            str(body.get("description", response.text[:200])),
            status_code=status,
            code=str(body.get("code", "")),
        )
    return body


def _json(response: HttpAnswer) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise ProviderUnavailable(f"provider answered non-JSON ({response.status})") from exc
    if not isinstance(body, dict):
        raise ProviderUnavailable("provider answered a JSON value that is not an object")
    return body


def make_client(
    base_url: str,
    shop_id: str,
    secret_key: str,
    policy: RetryPolicy,
    max_connections: int = 64,
) -> YooKassaClient:
    """A client on keep-alive HTTP/1.1 with at most `max_connections` connections and calls
    in flight (`http.py`)."""
    authorization = basic_authorization(shop_id, secret_key)
    http = ProviderHttp(base_url, authorization, max_connections, policy.timeout_s)
    return YooKassaClient(http, policy, max_connections)
