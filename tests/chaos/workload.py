"""What the users do, through the public API only: pay, confirm on the provider's page,
refund — and what they saw. The outcomes are the half of the ground truth that only the
clients know: which requests were answered 202."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from schemas import ids
from tests.chaos.client import Client
from tests.chaos.plan import RefundStep, UserPlan

FINAL_PAYMENT = frozenset({"succeeded", "canceled", "failed"})
FINAL_REFUND = frozenset({"succeeded", "failed"})
RETURN_URL = "https://cinema.example/chaos/return"
POLL_S = 1.0
CENT = Decimal("0.01")


@dataclass
class RefundOutcome:
    key: str
    refund_id: str | None = None
    answer: int | None = None  # the final HTTP status of the POST, None if never answered
    status: str | None = None  # the last status the client saw


@dataclass
class Outcome:
    user_id: uuid.UUID
    payment_key: str
    payment_id: str | None = None
    answer: int | None = None
    status: str | None = None
    refunds: list[RefundOutcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # contract breaches the client saw

    @property
    def accepted(self) -> bool:
        return self.answer in (201, 202)


@dataclass(frozen=True)
class Price:
    plan_id: str
    amount: Decimal
    currency: str


async def load_price(client: Client, plan_id: str = "monthly") -> Price:
    response = await client.send("GET", f"{client.urls.gateway}/api/v1/plans")
    if response is None or response.status_code != 200:
        raise RuntimeError(f"GET /api/v1/plans failed: {response!r}")
    plan = next(p for p in response.json() if p["id"] == plan_id)
    return Price(plan_id, Decimal(plan["amount"]), plan["currency"])


async def run_user(
    client: Client, plan: UserPlan, price: Price, renewing: Price | None = None
) -> Outcome:
    """One user's flow; a renewing user pays for `renewing` (the run's short plan)."""
    outcome = Outcome(plan.user_id, plan.payment_key)
    if plan.renews and renewing is not None:
        price = renewing
    payment = await _pay(client, plan, price, outcome)
    if payment is None:
        return outcome
    payment = await _confirm(client, plan, payment, outcome)
    if payment is not None and payment["status"] == "succeeded":
        for step in plan.refunds:
            outcome.refunds.append(await _refund(client, plan, price, step, outcome))
    return outcome


async def _pay(
    client: Client, plan: UserPlan, price: Price, outcome: Outcome
) -> dict[str, Any] | None:
    body: dict[str, Any] = {"plan_id": price.plan_id, "return_url": RETURN_URL}
    if plan.renews:
        body["auto_renew"] = True
    response = await _post_payment(client, plan, body)
    outcome.answer = None if response is None else response.status_code
    if response is None or not outcome.accepted:
        return None
    payment = response.json()
    outcome.payment_id = str(payment["payment_id"])
    _check_payment_id(plan, outcome)
    if plan.resend_after_success:
        again = await _post_payment(client, plan, body)
        if again is not None and again.status_code in (201, 202):
            if str(again.json()["payment_id"]) != outcome.payment_id:
                outcome.problems.append("same Idempotency-Key answered with another payment_id")
    return payment


async def _post_payment(client: Client, plan: UserPlan, body: dict[str, Any]) -> Any:
    headers = {"Idempotency-Key": plan.payment_key, "Prefer": "wait=5"}
    return await client.api("POST", plan.user_id, "/api/v1/payments", json=body, headers=headers)


def _check_payment_id(plan: UserPlan, outcome: Outcome) -> None:
    expected = str(ids.payment_id(plan.user_id, plan.payment_key))
    if outcome.payment_id != expected:
        outcome.problems.append(f"payment_id {outcome.payment_id} is not uuid5 of (user, key)")


async def _confirm(
    client: Client, plan: UserPlan, payment: dict[str, Any], outcome: Outcome
) -> dict[str, Any] | None:
    """Wait for the payment page, pay on it, wait for the final status."""
    path = f"/api/v1/payments/{outcome.payment_id}"
    payment = await _poll(client, plan.user_id, path, _has_page_or_final, payment)
    # No page yet means the deadline came first: the invariants judge what it became.
    if payment is None or payment["status"] in FINAL_PAYMENT or not payment["confirmation_url"]:
        return _seen(outcome, payment)
    external_id = payment["confirmation_url"].rstrip("/").rsplit("/", 1)[-1]
    await client.send(
        "POST",
        f"{client.urls.provider}/sandbox/payments/{external_id}/confirm",
        json={"card_number": plan.card},
    )
    payment = await _poll(client, plan.user_id, path, _is_final_payment, payment)
    return _seen(outcome, payment)


def _seen(outcome: Outcome, payment: dict[str, Any] | None) -> dict[str, Any] | None:
    if payment is not None:
        outcome.status = payment["status"]
    return payment


def _has_page_or_final(payment: dict[str, Any]) -> bool:
    return bool(payment.get("confirmation_url")) or payment["status"] in FINAL_PAYMENT


def _is_final_payment(payment: dict[str, Any]) -> bool:
    return payment["status"] in FINAL_PAYMENT


async def _poll(
    client: Client, user_id: uuid.UUID, path: str, done: Any, last: dict[str, Any] | None
) -> dict[str, Any] | None:
    """GET `path` until `done(body)`; the last body seen if the deadline comes first."""
    while True:
        if last is not None and done(last):
            return last
        if client.now() >= client.deadline:
            return last
        await asyncio.sleep(POLL_S * (0.5 + client.rng.random()))
        response = await client.api("GET", user_id, path)
        if response is not None and response.status_code == 200:
            last = response.json()


async def _refund(
    client: Client, plan: UserPlan, price: Price, step: RefundStep, outcome: Outcome
) -> RefundOutcome:
    result = RefundOutcome(step.key)
    # The refund policy sets a user's amount (CONTRACT §2): every step asks for "what the
    # policy gives"; a step after the first finds nothing left (409).
    body: dict[str, Any] = {}
    response = await client.api(
        "POST",
        plan.user_id,
        f"/api/v1/payments/{outcome.payment_id}/refunds",
        json=body,
        headers={"Idempotency-Key": step.key},
    )
    result.answer = None if response is None else response.status_code
    if response is None or response.status_code != 202:
        return result
    result.refund_id = str(response.json()["refund_id"])
    if result.refund_id != str(ids.refund_id(plan.user_id, step.key)):
        outcome.problems.append(f"refund_id {result.refund_id} is not uuid5 of (user, key)")
    refund = await _poll(
        client,
        plan.user_id,
        f"/api/v1/refunds/{result.refund_id}",
        lambda r: r["status"] in FINAL_REFUND,
        response.json(),
    )
    result.status = None if refund is None else refund["status"]
    return result


def _part(amount: Decimal, fraction: float) -> str:
    part = (amount * Decimal(str(fraction))).quantize(CENT, rounding=ROUND_DOWN)
    return str(max(part, CENT))
