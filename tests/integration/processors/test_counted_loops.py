"""Issue 10, the loops that are counted and retried, against real Kafka, PostgreSQL and the
sandbox: each re-read or re-drive waits on a capped backoff (never every pass), and the row it
is about shows in `billing_stuck` for an operator.

* a renewal attempt whose provider answer cannot be read: dead-lettered with the reason, the
  attempt left `accepted` and re-driven by the scheduler once quiet for half its age, at most
  RECONCILE_BACKOFF_CAP_SECONDS;
* a refund the provider keeps answering `pending`: re-read by the reconciler on the same
  rule, counted in `billing_reconciler_actions{action="recheck_refund"}`. Its webhook or a
  re-read that finds it settled still finishes it (test_reconciler.py
  `test_reconciler_re_reads_a_pending_refund_whose_webhook_was_lost`, unit
  `test_a_refund_webhook_finishes_a_refund_the_provider_settled_later`).

Whoever claims the row (this test or the stack's own scheduler and reconciler, which share the
database) claims it by the same rule, so what is asserted is the row's `updated_at`.
"""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from processors_harness import Gateway, Running, eventually, payment, refund, status_is
from prometheus_client import REGISTRY
from test_gauges import values
from test_poison import forget_dead_letters, letters_of, odd_provider  # noqa: F401
from test_renewals import renew_command, saved_card, subscribed

from common.producer import Producer
from processors import reconciler, scheduler
from processors.gauges import database_families
from processors.runtime import Context
from schemas import ids

STUCK_PAYMENT = ("billing_stuck", "object=payment", "reason=accepted_past_redrive")
STUCK_REFUND = ("billing_stuck", "object=refund", "reason=accepted_past_redrive")


async def quiet(ctx: Context, table: str, row_id: uuid.UUID, days: int, minutes: int) -> None:
    await ctx.pool.execute(
        f"UPDATE payments_history.{table} SET created_at = now() - make_interval(days => $2),"
        " updated_at = now() - make_interval(mins => $3) WHERE id = $1",
        row_id,
        days,
        minutes,
    )


async def touched(ctx: Context, table: str, row_id: uuid.UUID) -> bool:
    sql = f"SELECT updated_at > now() - interval '1 minute' FROM payments_history.{table}"
    return bool(await ctx.pool.fetchval(sql + " WHERE id = $1", row_id))


async def stuck_when_aged(
    ctx: Context, table: str, row_id: uuid.UUID, key: tuple[str, ...]
) -> float:
    """How much `billing_stuck` grows when the row is two hours old (rolled back after)."""
    async with ctx.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            before = values(await database_families(conn, ctx.settings))  # type: ignore[arg-type]
            await conn.execute(
                f"UPDATE payments_history.{table} SET created_at = now() - interval '2 hours'"
                " WHERE id = $1",
                row_id,
            )
            after = values(await database_families(conn, ctx.settings))  # type: ignore[arg-type]
        finally:
            await tx.rollback()
    return after[key] - before[key]


async def test_a_renewal_whose_answer_cannot_be_read_is_dead_lettered_and_re_driven_capped(
    odd_provider: tuple[Context, set[str]],  # noqa: F811
    gateway: Gateway,
    sandbox: httpx.AsyncClient,
) -> None:
    ctx, poisoned = odd_provider
    sub = await subscribed(ctx, await saved_card(ctx, sandbox), timedelta(hours=1))
    attempt = ids.renewal_payment_id(sub.id, 2, 0)
    poisoned.add(str(attempt))
    try:
        await gateway.send(ctx.settings.commands_topic, str(sub.user_id), renew_command(sub))
        [letter] = await letters_of(ctx.settings, 1)
        assert letter.error.startswith("permanent: unknown provider payment status")
        assert (await payment(ctx, attempt))["status"] == "accepted"
        assert await stuck_when_aged(ctx, "payments", attempt, STUCK_PAYMENT) == 1

        async def redriven(days: int, minutes: int) -> bool:
            await quiet(ctx, "payments", attempt, days, minutes)
            publisher = Producer(ctx.settings)
            try:
                await scheduler.redrive_stuck(ctx.pool, publisher, ctx.settings)
            finally:
                await publisher.close()
            return await touched(ctx, "payments", attempt)

        ctx.settings.reconcile_after_seconds = 30
        assert not await redriven(3, 59)  # half its age is a day and a half, the cap an hour
        assert await redriven(3, 61)
        publisher = Producer(ctx.settings)
        try:  # re-driven 5 minutes ago: not again on the next pass
            await ctx.pool.execute(
                "UPDATE payments_history.payments SET updated_at = now() - interval '5 minutes'"
                " WHERE id = $1",
                attempt,
            )
            await scheduler.redrive_stuck(ctx.pool, publisher, ctx.settings)
        finally:
            await publisher.close()
        assert not await touched(ctx, "payments", attempt)
    finally:
        await ctx.pool.execute(
            "UPDATE payments_history.payments SET status = 'failed', failure_reason = 'test"
            " finished' WHERE id = $1 AND status = 'accepted'",
            attempt,
        )
        await forget_dead_letters(ctx, ctx.settings.commands_topic)


def rechecks() -> float:
    labels = {"action": "recheck_refund"}
    return REGISTRY.get_sample_value("billing_reconciler_actions_total", labels) or 0.0


async def test_a_refund_the_provider_keeps_pending_is_re_read_capped_and_counted(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd = await gateway.new_payment("499.00")
    external_id = str((await status_is(ctx, cmd.payment_id, "pending"))["external_id"])
    card = {"card_number": "4242424242424242"}
    obj = (await sandbox.post(f"/sandbox/payments/{external_id}/confirm", json=card)).json()
    await gateway.webhook("payment.succeeded", obj, external_id)
    await status_is(ctx, cmd.payment_id, "succeeded")
    await sandbox.post("/sandbox/faults", json={"refund_pending_rate": 1, "drop_webhook_rate": 1})
    ask = await gateway.new_refund(cmd, "100.00")

    async def answered() -> dict[str, Any] | None:
        row = await refund(ctx, ask.refund_id)
        return row if row.get("external_id") is not None else None

    await eventually(answered)
    assert await stuck_when_aged(ctx, "refunds", ask.refund_id, STUCK_REFUND) == 1

    async def re_read(days: int, minutes: int) -> bool:
        await quiet(ctx, "refunds", ask.refund_id, days, minutes)
        publisher = Producer(ctx.settings)
        try:
            await reconciler.run_once(ctx, publisher)  # the pass, with its counters
        finally:
            await publisher.close()
        return await touched(ctx, "refunds", ask.refund_id)

    before = rechecks()
    assert not await re_read(3, 59)  # half its age is a day and a half, the cap an hour
    assert await re_read(3, 61)
    assert rechecks() >= before + 1
    assert (await refund(ctx, ask.refund_id))["status"] == "accepted"  # still pending there
    await ctx.pool.execute(
        "UPDATE payments_history.refunds SET updated_at = now() - interval '5 minutes'"
        " WHERE id = $1",
        ask.refund_id,
    )
    await reconciler.recheck_pending_refunds(ctx)  # re-read 5 min ago: not again
    assert not await touched(ctx, "refunds", ask.refund_id)
