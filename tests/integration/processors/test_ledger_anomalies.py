"""Provider money that contradicts our ledger (processors/apply.py `contradiction`), against
real Kafka, PostgreSQL and the sandbox provider: nothing is applied, and instead of a log line
only, the notification is dead-lettered with the reason (billing.dlq.v1 + the dead_letters
row, the same DLQ as poison messages) and `billing_ledger_anomalies_total{kind}` counts it."""

import uuid
from decimal import Decimal
from typing import Any

import httpx
from processors_harness import (
    Gateway,
    Running,
    eventually,
    outbox_types,
    paid,
    payment,
    receipt_of,
    refund,
)
from prometheus_client import REGISTRY
from test_poison import forget_dead_letters, letters_of

from processors.provider.descriptions import refund_description
from processors.runtime import Context


def anomalies(kind: str) -> float:
    return REGISTRY.get_sample_value("billing_ledger_anomalies_total", {"kind": kind}) or 0.0


async def refund_at_provider(
    ctx: Context,
    sandbox: httpx.AsyncClient,
    user_id: uuid.UUID,
    external_id: str,
    amount: str,
    description: str,
) -> dict[str, Any]:
    """A refund made at the provider, not by our pipeline (its dashboard, say): with a refund
    receipt, as the dashboard of a shop with 54-FZ receipts on (PROVIDER_RECEIPTS_REQUIRED=1)
    requires; one line of the payment's kind for the refunded amount."""
    s = ctx.settings
    body = {
        "payment_id": external_id,
        "amount": {"value": amount, "currency": "RUB"},
        "description": description,
        "receipt": receipt_of(amount, user_id),
    }
    key = {"Idempotence-Key": str(uuid.uuid4())}
    auth = (s.provider_shop_id, s.provider_secret_key.get_secret_value())
    made = await sandbox.post("/v3/refunds", json=body, headers=key, auth=auth)
    assert made.status_code == 200, made.text
    return dict(made.json())


async def test_a_dashboard_refund_of_more_than_our_ledger_has_left_is_dead_lettered(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    """Our ledger says 450.00 of 499.00 is refunded already; the provider refunds 100.00 more.
    The old code logged "does not fit" and dropped the notification."""
    cmd, external_id = await paid(ctx, gateway, sandbox)
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET refunded_amount = 450 WHERE id = $1",
        cmd.payment_id,
    )
    before = anomalies("external_refund")
    made = await refund_at_provider(ctx, sandbox, cmd.user_id, external_id, "100.00", "Goodwill")
    await gateway.webhook("refund.succeeded", made, external_id)
    [letter] = await letters_of(ctx.settings, 1)
    assert letter.consumer == "processor-webhooks" and letter.original_key == external_id
    assert letter.error.startswith("permanent: ledger anomaly: provider refund ")
    assert "more than the 49.00 left" in letter.error
    row = await eventually(
        lambda: ctx.pool.fetchrow(
            "SELECT error FROM payments_history.dead_letters WHERE origin_topic = $1",
            ctx.settings.webhooks_topic,
        )
    )
    assert row["error"] == letter.error
    assert anomalies("external_refund") == before + 1
    assert (await payment(ctx, cmd.payment_id))["refunded_amount"] == Decimal("450.00")
    recorded = await ctx.pool.fetchval(
        "SELECT count(*) FROM payments_history.refunds WHERE payment_id = $1", cmd.payment_id
    )
    assert recorded == 0 and "RefundSucceeded" not in await outbox_types(ctx, cmd.payment_id)
    await forget_dead_letters(ctx, ctx.settings.webhooks_topic)


async def test_a_second_provider_refund_naming_ours_is_dead_lettered_not_dropped(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    """Our refund is pending at the provider (its id stored); another provider refund names
    it too (what a blind re-send under a forgotten key makes: the same money twice). The old
    code logged "not ours" and dropped it."""
    cmd, external_id = await paid(ctx, gateway, sandbox)
    await sandbox.post("/sandbox/faults", json={"refund_pending_rate": 1})
    ask = await gateway.new_refund(cmd, "100.00")

    async def answered() -> dict[str, Any] | None:
        row = await refund(ctx, ask.refund_id)
        return row if row.get("external_id") is not None else None

    ours = await eventually(answered)
    await sandbox.delete("/sandbox/faults")
    before = anomalies("refund")
    second = await refund_at_provider(
        ctx, sandbox, cmd.user_id, external_id, "100.00", refund_description(ask.refund_id)
    )
    await gateway.webhook("refund.succeeded", second, external_id)
    [letter] = await letters_of(ctx.settings, 1)
    assert letter.error.startswith("permanent: ledger anomaly: refund ")
    assert f"provider id differs from ours {ours['external_id']}" in letter.error
    assert anomalies("refund") == before + 1
    row = await refund(ctx, ask.refund_id)
    assert (row["status"], row["external_id"]) == ("accepted", ours["external_id"])
    assert (await payment(ctx, cmd.payment_id))["refunded_amount"] == Decimal("0.00")
    await forget_dead_letters(ctx, ctx.settings.webhooks_topic)
