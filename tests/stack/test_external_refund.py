"""Issue 10.7 end to end: a refund made in the provider's dashboard, not through our API.

The shop's operator refunds a payment at the provider (here: the sandbox's API with the
shop's credentials, which is what the dashboard does). The provider's `refund.succeeded`
webhook names a refund we never started; it must be recorded against its payment (a refunds
row, the payment's refunded totals) and end access as the refund policy says
(domain/refund_policy.py: a refund of at least what the user's own refund would give back
ends the paid time; a smaller one is goodwill and keeps it).
"""

import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from tests.stack.conftest import Stack, User
from tests.stack.flows import (
    eventually,
    get_payment,
    notifications,
    paid,
    refund_in_dashboard,
    roles,
    subscription,
)

pytestmark = pytest.mark.e2e


async def refund_at_the_provider(
    http: httpx.AsyncClient, stack: Stack, payment: dict[str, Any], amount: str
) -> dict[str, Any]:
    response = await refund_in_dashboard(
        http, stack, payment, amount, "Goodwill from the shop's dashboard"
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def refund_row(database_url: str, external_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT * FROM payments_history.refunds WHERE external_id = $1", uuid.UUID(external_id)
        )
    finally:
        await conn.close()
    return dict(row) if row else {}


async def subscribed(http: httpx.AsyncClient, stack: Stack, user: User) -> None:
    assert "subscriber" in await eventually(
        lambda: roles(http, stack, user), lambda r: "subscriber" in r
    )


async def test_a_full_refund_made_in_the_dashboard_is_recorded_and_ends_access(
    http: httpx.AsyncClient, stack: Stack, user: User, database_url: str
) -> None:
    payment = await paid(http, stack, user)
    await subscribed(http, stack, user)
    made = await refund_at_the_provider(http, stack, payment, payment["amount"])
    assert made["status"] == "succeeded"
    done = await eventually(
        lambda: get_payment(http, stack, user, payment["payment_id"]), lambda p: p["refunded"]
    )
    assert Decimal(done["refunded_amount"]) == Decimal(payment["amount"])
    row = await refund_row(database_url, made["id"])
    assert (row["status"], row["requested_by"], row["ends_access"]) == (
        "succeeded",
        "provider",
        True,
    )
    assert row["payment_id"] == uuid.UUID(payment["payment_id"])
    assert "subscriber" not in await eventually(
        lambda: roles(http, stack, user), lambda r: "subscriber" not in r
    )
    assert not (await subscription(http, stack, user))["active"]
    sent = await eventually(
        lambda: notifications(http, stack, user),
        lambda items: any(n["template"] == "refund_succeeded" for n in items),
    )
    assert any(n["template"] == "refund_succeeded" for n in sent)


async def test_a_small_goodwill_refund_made_in_the_dashboard_keeps_access(
    http: httpx.AsyncClient, stack: Stack, user: User, database_url: str
) -> None:
    payment = await paid(http, stack, user)
    await subscribed(http, stack, user)
    made = await refund_at_the_provider(http, stack, payment, "10.00")
    done = await eventually(
        lambda: get_payment(http, stack, user, payment["payment_id"]),
        lambda p: Decimal(p["refunded_amount"]) > 0,
    )
    assert (Decimal(done["refunded_amount"]), done["refunded"]) == (Decimal("10.00"), False)
    row = await refund_row(database_url, made["id"])
    assert (row["status"], row["ends_access"]) == ("succeeded", False)
    assert (await subscription(http, stack, user))["active"]
    assert "subscriber" in await roles(http, stack, user)
