"""Helpers of the subscription lifecycle tests: short plans, saved cards, the provider's ledger."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx

from billing_cli.plans import PlanSpec, upsert
from common.settings import Settings
from tests.stack.conftest import Stack, User
from tests.stack.flows import confirm, subscription, wait_for_status

DECLINES_LATER = "4000000000009995"  # pays now, saves a card whose autopayments are declined


async def short_plan(
    period: int, renew_before: int, retry: tuple[int, ...] = (), grace: int = 0
) -> str:
    """A plan of its own for this test (periods of seconds), as `billing plans set` makes it."""
    plan_id = f"t-{uuid.uuid4().hex[:10]}"
    spec = PlanSpec(
        plan_id, "test plan", Decimal("10.00"), "RUB", period, renew_before, retry, grace
    )
    await upsert(Settings(), spec)
    return plan_id


async def subscribe(
    http: httpx.AsyncClient, stack: Stack, user: User, plan_id: str, card: str
) -> dict[str, Any]:
    """Pay for `plan_id` with auto_renew on and `card`; the succeeded payment."""
    response = await http.post(
        f"{stack.gateway}/api/v1/payments",
        json={"plan_id": plan_id, "return_url": "https://cinema.example/t", "auto_renew": True},
        headers={**user.headers, "Idempotency-Key": str(uuid.uuid4()), "Prefer": "wait=10"},
    )
    assert response.status_code in (201, 202), response.text
    payment = await wait_for_status(
        http, stack, user, response.json()["payment_id"], lambda p: p["confirmation_url"]
    )
    await confirm(http, stack, payment, card)
    return await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["status"] == "succeeded"
    )


async def until(
    probe: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], within: float = 60
) -> Any:
    """Poll until `done(result)`; fail with the last result after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    result = await probe()
    while not done(result):
        assert asyncio.get_running_loop().time() < deadline, f"not reached: {result}"
        await asyncio.sleep(0.5)
        result = await probe()
    return result


def sub_of(http: httpx.AsyncClient, stack: Stack, user: User) -> Callable[[], Awaitable[Any]]:
    return lambda: subscription(http, stack, user)


async def charges(http: httpx.AsyncClient, stack: Stack, user: User) -> list[dict[str, Any]]:
    """Every provider payment of this user, oldest first (the ground truth of charges)."""
    ledger = (await http.get(f"{stack.provider}/sandbox/ledger")).json()
    return [p for p in ledger["payments"] if p["metadata"].get("user_id") == str(user.id)]


def succeeded_per_period(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Renewal charges that took money, counted per subscription period."""
    counts: dict[str, int] = {}
    for p in rows:
        period = p["metadata"].get("period")
        if period is not None and p["status"] == "succeeded":
            counts[period] = counts.get(period, 0) + 1
    return counts


async def script_card(http: httpx.AsyncClient, stack: Stack, method_id: str, **script: Any) -> None:
    response = await http.post(f"{stack.provider}/sandbox/payment_methods/{method_id}", json=script)
    assert response.status_code == 200, response.text
