"""The janitor: lost webhooks and lost commands still end in a final (or pending) payment."""

import httpx
from processors_harness import Gateway, Running, ledger_for, outbox_types, payment, status_is

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
        await ctx.pool.execute(
            "UPDATE payments_history.payments SET next_check_at = now() WHERE id = $1",
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
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET created_at = now() - "
        "interval '2 hours' WHERE id = $1",
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
    assert row["check_attempts"] == 1
