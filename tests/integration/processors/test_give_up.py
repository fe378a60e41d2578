"""Issue 10.4, rows that can never progress, against real PostgreSQL and Kafka: each ends
`failed` with its reason (processors/give_up.py), and the re-drives that remain back off by
the row's age instead of repeating every RECONCILE_AFTER_SECONDS for good."""

import uuid
from datetime import timedelta

from processors_harness import Gateway, outbox_types, payment, refund
from test_renewals import subscribed

from common.producer import Producer
from processors import give_up, reconciler, repository, scheduler
from processors.runtime import Context


async def aged(ctx: Context, table: str, row_id: uuid.UUID, days: int) -> None:
    await ctx.pool.execute(
        f"UPDATE payments_history.{table} SET created_at = now() - make_interval(days => $2)"
        " WHERE id = $1",
        row_id,
        days,
    )


async def test_rows_never_sent_past_the_give_up_age_end_failed(
    ctx: Context, gateway: Gateway
) -> None:
    """What the reconciler would otherwise re-drive for good (here 40 days, so that only this
    test's rows are that old in a shared database; the stack's own reconciler may fail them
    first, which is the same code: the rows' end is asserted, not who got there)."""
    ctx.settings.reconcile_give_up_after_seconds = 40 * 86400.0
    never_sent = await gateway.new_payment(send=False)
    paid = await gateway.new_payment(send=False)
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET status = 'succeeded' WHERE id = $1", paid.payment_id
    )
    ask = await gateway.new_refund(paid, "10.00", send=False)
    sent = await gateway.new_refund(paid, "5.00", send=False)  # reserved: sent, answer lost
    await ctx.pool.execute(
        "UPDATE payments_history.refunds SET reserved = true WHERE id = $1", sent.refund_id
    )
    await aged(ctx, "payments", never_sent.payment_id, 41)
    await aged(ctx, "refunds", ask.refund_id, 41)
    await aged(ctx, "refunds", sent.refund_id, 41)
    await reconciler.give_up_stale(ctx)
    row = await payment(ctx, never_sent.payment_id)
    assert row["status"] == "failed"
    assert row["failure_reason"].startswith("gave_up: not_sent_in_time: ")
    assert (await refund(ctx, ask.refund_id))["failure_reason"].startswith("gave_up: not_sent")
    held = await refund(ctx, sent.refund_id)  # never auto-failed: the provider may have it
    assert (held["status"], held["reserved"]) == ("accepted", True)
    await reconciler.give_up_stale(ctx)  # once: a guarded update
    assert await outbox_types(ctx, never_sent.payment_id) == ["PaymentFailed"]


async def test_the_give_up_update_is_a_compare_and_set_on_never_sent(
    ctx: Context, gateway: Gateway
) -> None:
    """Chosen `accepted` without a provider id; a re-drive's answer lands before the UPDATE
    (the payment `pending`, the refund with its provider id): neither is failed."""
    cmd = await gateway.new_payment(send=False)
    paid = await gateway.new_payment(send=False)
    ask = await gateway.new_refund(paid, "10.00", send=False)
    chosen = await repository.load_payment(ctx.pool, cmd.payment_id)
    chosen_refund = await repository.load_refund(ctx.pool, ask.refund_id)
    assert chosen is not None and chosen_refund is not None
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET status = 'pending', external_id = $2 WHERE id = $1",
        cmd.payment_id,
        uuid.uuid4(),
    )
    await ctx.pool.execute(
        "UPDATE payments_history.refunds SET external_id = $2 WHERE id = $1",
        ask.refund_id,
        uuid.uuid4(),
    )
    assert not await give_up.payment_in_transaction(ctx, chosen, give_up.NOT_SENT)
    assert not await give_up.refund_in_transaction(ctx, chosen_refund, None, give_up.NOT_SENT)
    assert (await payment(ctx, cmd.payment_id))["status"] == "pending"
    assert (await refund(ctx, ask.refund_id))["status"] == "accepted"


async def test_a_pending_payment_whose_re_read_is_refused_is_never_failed(
    ctx: Context, gateway: Gateway
) -> None:
    """Its re-read is a 404 every time (wrong-shop credentials look the same): the provider
    holds it, so however old it stays `pending`, re-read on its backoff."""
    cmd = await gateway.new_payment(send=False)
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET status = 'pending', external_id = $2 WHERE id = $1",
        cmd.payment_id,
        uuid.uuid4(),
    )
    await reconciler.recheck(ctx, cmd.payment_id)  # young: only logged, checked again later
    assert (await payment(ctx, cmd.payment_id))["status"] == "pending"
    await aged(ctx, "payments", cmd.payment_id, 2)
    await reconciler.recheck(ctx, cmd.payment_id)
    assert (await payment(ctx, cmd.payment_id))["status"] == "pending"


async def test_a_pending_refund_whose_re_read_is_refused_is_never_failed(
    ctx: Context, gateway: Gateway
) -> None:
    paid = await gateway.new_payment(send=False)
    ask = await gateway.new_refund(paid, "10.00", send=False)
    await ctx.pool.execute(
        "UPDATE payments_history.refunds SET external_id = $2, reserved = true WHERE id = $1",
        ask.refund_id,
        uuid.uuid4(),
    )
    await reconciler.recheck_refund(ctx, ask.refund_id)  # young: checked again later
    assert (await refund(ctx, ask.refund_id))["status"] == "accepted"
    await aged(ctx, "refunds", ask.refund_id, 2)
    await reconciler.recheck_refund(ctx, ask.refund_id)
    row = await refund(ctx, ask.refund_id)
    assert (row["status"], row["reserved"]) == ("accepted", True)  # its money stays held


async def test_an_accepted_refund_is_re_driven_once_quiet_for_half_its_age(
    ctx: Context, gateway: Gateway
) -> None:
    """Not every RECONCILE_AFTER_SECONDS for good: two hours old, it waits an hour."""
    ctx.settings.reconcile_after_seconds = 30
    paid = await gateway.new_payment(send=False)
    ask = await gateway.new_refund(paid, "10.00", send=False)

    async def quiet_for(minutes: int) -> bool:
        await ctx.pool.execute(
            "UPDATE payments_history.refunds SET created_at = now() - interval '2 hours',"
            " updated_at = now() - make_interval(mins => $2) WHERE id = $1",
            ask.refund_id,
            minutes,
        )
        publisher = Producer(ctx.settings)
        try:
            await reconciler.redrive_refunds(ctx, publisher)
        finally:
            await publisher.close()
        touched = await ctx.pool.fetchval(
            "SELECT updated_at > now() - interval '1 minute' FROM payments_history.refunds"
            " WHERE id = $1",
            ask.refund_id,
        )
        return bool(touched)

    assert not await quiet_for(40)  # an old rule re-drove it after 30 s
    assert await quiet_for(61)


async def test_a_stuck_renewal_attempt_is_re_driven_once_quiet_for_half_its_age(
    ctx: Context,
) -> None:
    """The scheduler's re-drive of a renewal attempt stuck `accepted` (one whose provider
    answer is dead-lettered each time, say) backs off instead of repeating every 30 s."""
    ctx.settings.reconcile_after_seconds = 30
    sub = await subscribed(ctx, "pm-" + uuid.uuid4().hex, timedelta(days=1))
    attempt = uuid.uuid4()
    await ctx.pool.execute(
        """INSERT INTO payments_history.payments (id, user_id, plan_id, amount, currency,
               idempotency_key, request_fingerprint, return_url, subscription_id, period_number)
           VALUES ($1, $2, 'monthly', 499, 'RUB', 'renewal:2:0', 'fp', '', $3, 2)""",
        attempt,
        sub.user_id,
        sub.id,
    )

    async def quiet_for(minutes: int) -> bool:
        await ctx.pool.execute(
            "UPDATE payments_history.payments SET created_at = now() - interval '2 hours',"
            " updated_at = now() - make_interval(mins => $2) WHERE id = $1",
            attempt,
            minutes,
        )
        publisher = Producer(ctx.settings)
        try:
            await scheduler.redrive_stuck(ctx.pool, publisher, ctx.settings)
        finally:
            await publisher.close()
        return bool(
            await ctx.pool.fetchval(
                "SELECT updated_at > now() - interval '1 minute' FROM payments_history.payments"
                " WHERE id = $1",
                attempt,
            )
        )

    try:
        assert not await quiet_for(40)  # the old rule re-drove it every 30 s
        assert await quiet_for(61)
    finally:
        await ctx.pool.execute(
            "UPDATE payments_history.payments SET status = 'failed' WHERE id = $1", attempt
        )
