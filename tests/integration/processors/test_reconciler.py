"""The janitor: lost webhooks and lost commands still end in a final (or pending) payment."""

from decimal import Decimal

import httpx
from processors_harness import (
    Gateway,
    Running,
    eventually,
    ledger_for,
    outbox_types,
    payment,
    refund,
    status_is,
)

from common.producer import Producer
from processors import reconciler
from processors.runtime import Context


async def test_reconciler_finalises_a_payment_whose_webhooks_were_all_dropped(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    await sandbox.post("/sandbox/faults", json={"drop_webhook_rate": 1})
    cmd = await gateway.new_payment()
    row = await status_is(ctx, cmd.payment_id, "pending")
    await sandbox.post(
        f"/sandbox/payments/{row['external_id']}/confirm", json={"card_number": "4242424242424242"}
    )
    publisher = Producer(ctx.settings)
    try:
        await reconciler.run_once(ctx, publisher)  # not due yet: nothing happens
        assert (await payment(ctx, cmd.payment_id))["status"] == "pending"
        await ctx.pool.execute(  # due, and before any due row the shared database holds
            # (a stack that ran benchmarks keeps thousands: a pass takes a batch of them first)
            "UPDATE payments_history.payments SET next_check_at = now() - interval '10 years'"
            " WHERE id = $1",
            cmd.payment_id,
        )
        await reconciler.run_once(ctx, publisher)
    finally:
        await publisher.close()
    row = await payment(ctx, cmd.payment_id)
    assert (row["status"], row["check_attempts"], row["next_check_at"]) == ("succeeded", 1, None)
    assert await outbox_types(ctx, cmd.payment_id) == ["PaymentPending", "PaymentSucceeded"]


async def test_reconciler_redrives_an_accepted_payment_whose_command_never_arrived(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd = await gateway.new_payment(send=False)
    await ctx.pool.execute(  # old, and re-driven many times already: its backoff has grown
        "UPDATE payments_history.payments SET created_at = now() - "
        "interval '2 hours', check_attempts = 10 WHERE id = $1",
        cmd.payment_id,
    )
    publisher = Producer(ctx.settings)
    try:
        passed = await reconciler.run_once(ctx, publisher)
    finally:
        await publisher.close()
    assert passed.redriven_payments >= 1
    await status_is(ctx, cmd.payment_id, "pending")
    assert len(await ledger_for(sandbox, cmd.payment_id)) == 1
    row = await payment(ctx, cmd.payment_id)
    # accepted → pending is a new status: its re-reads start over at the base interval
    # (issue 10.2), not at the 2^11 the re-sends had reached
    assert row["check_attempts"] == 0
    waits = await ctx.pool.fetchval(
        "SELECT extract(epoch FROM next_check_at - now()) FROM payments_history.payments"
        " WHERE id = $1",
        cmd.payment_id,
    )
    assert 0 < waits <= ctx.settings.reconcile_after_seconds


async def test_reconciler_re_reads_a_pending_refund_whose_webhook_was_lost(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    """Issue 10.1: the provider answers `pending`; its id is kept, the command is not marked
    done, and with every webhook lost the reconciler's `GET /v3/refunds/{id}` finishes it."""
    cmd = await gateway.new_payment("499.00")
    external_id = str((await status_is(ctx, cmd.payment_id, "pending"))["external_id"])
    obj = (
        await sandbox.post(
            f"/sandbox/payments/{external_id}/confirm", json={"card_number": "4242424242424242"}
        )
    ).json()
    await gateway.webhook("payment.succeeded", obj, external_id)
    await status_is(ctx, cmd.payment_id, "succeeded")
    await sandbox.post("/sandbox/faults", json={"refund_pending_rate": 1, "drop_webhook_rate": 1})
    ask = await gateway.new_refund(cmd, "100.00")

    async def kept() -> dict | None:
        row = await refund(ctx, ask.refund_id)
        return row if row.get("external_id") is not None else None

    pending = await eventually(kept)
    assert pending["status"] == "accepted" and pending["reserved"]
    done = await ctx.pool.fetchval(
        "SELECT count(*) FROM payments_history.inbox WHERE message_id = $1", ask.message_id
    )
    assert done == 0  # not marked done: a re-drive is not skipped
    settle = {"status": "succeeded"}
    await sandbox.post(f"/sandbox/refunds/{pending['external_id']}/settle", json=settle)
    publisher = Producer(ctx.settings)
    try:
        await reconciler.run_once(ctx, publisher)  # not due yet
        assert (await refund(ctx, ask.refund_id))["status"] == "accepted"
        await ctx.pool.execute(
            "UPDATE payments_history.refunds SET updated_at = now() - interval '1 hour'"
            " WHERE id = $1",
            ask.refund_id,
        )
        passed = await reconciler.run_once(ctx, publisher)
    finally:
        await publisher.close()
    assert passed.rechecked_refunds >= 1
    assert (await refund(ctx, ask.refund_id))["status"] == "succeeded"
    assert (await payment(ctx, cmd.payment_id))["refunded_amount"] == Decimal("100.00")
