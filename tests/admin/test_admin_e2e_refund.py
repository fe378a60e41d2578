"""A refund from the admin of the running stack reaches the provider exactly once and, as the
operator chooses, ends the subscription like one from the API or keeps it as goodwill
(CONTRACT §7): the Auth role follows, and the choice lands in the audit log."""

from typing import Any

import httpx
import pytest
from admin_stack import (
    Stack,
    admin_login,
    admin_refund,
    audit_messages,
    auth_roles,
    handled,
    paid_payment,
    payment_row,
    provider_refunds_of,
    refund_row,
    stack_or_skip,
    subscription_active,
    wait_for,
)

from schemas import ids

pytestmark = pytest.mark.e2e


def _paid_and_subscribed(stack: Stack) -> tuple[str, str, str]:
    payment_id, user_id, token = paid_payment(stack)
    wait_for("subscription activated", lambda: subscription_active(stack, token))
    wait_for("role granted", lambda: "subscriber" in auth_roles(stack, user_id))
    return payment_id, user_id, token


def _refund_in_admin(
    stack: Stack, payment_id: str, amount: str, access: str, submits: int = 1
) -> dict[str, Any]:
    with httpx.Client(base_url=stack.admin, timeout=30) as client:
        admin_login(client, stack.username, stack.password)
        admin_refund(client, payment_id, amount, access, submits)
    row: dict[str, Any] = wait_for(
        "refund succeeded",
        lambda: (r := refund_row(stack, payment_id)) and r["status"] == "succeeded" and r,
    )
    return row


def test_admin_refund_reaches_provider_once_and_revokes_subscription() -> None:
    stack = stack_or_skip()
    payment_id, user_id, token = _paid_and_subscribed(stack)
    _refund_in_admin(stack, payment_id, "", "end", submits=2)  # a double submit refunds once
    wait_for("payment refunded", lambda: (payment_row(stack, payment_id) or {}).get("refunded"))
    external_id = payment_row(stack, payment_id)["external_id"]  # type: ignore[index]
    assert len(provider_refunds_of(stack, external_id)) == 1
    wait_for("subscription revoked", lambda: not subscription_active(stack, token))
    wait_for("role revoked", lambda: "subscriber" not in auth_roles(stack, user_id))


def test_a_partial_admin_refund_that_ends_access_revokes_the_role() -> None:
    stack = stack_or_skip()
    payment_id, user_id, token = _paid_and_subscribed(stack)
    row = _refund_in_admin(stack, payment_id, "100.00", "end")
    assert (row["amount"], row["ends_access"]) == ("100.00", True)
    wait_for("role revoked", lambda: "subscriber" not in auth_roles(stack, user_id))
    assert not subscription_active(stack, token)
    assert any("100.00, end access" in m for m in audit_messages(stack, payment_id))


def test_a_goodwill_admin_refund_of_everything_keeps_the_role() -> None:
    stack = stack_or_skip()
    payment_id, user_id, token = _paid_and_subscribed(stack)
    row = _refund_in_admin(stack, payment_id, "", "keep")
    assert (row["amount"], row["ends_access"]) == ("499.00", False)
    assert (payment_row(stack, payment_id) or {}).get("refunded") is True
    event = ids.message_id("RefundSucceeded", row["id"])
    wait_for("the refund handled", lambda: handled(stack, "consumer-subscriptions", event))
    assert subscription_active(stack, token)
    assert "subscriber" in auth_roles(stack, user_id)
    assert any("all left, keep access (goodwill)" in m for m in audit_messages(stack, payment_id))
