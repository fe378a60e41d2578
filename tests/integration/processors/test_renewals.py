"""Renewals through the commands processor and the scheduler, against real Kafka, PostgreSQL
and the sandbox provider: one provider charge per (subscription, period)."""

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
from processors_harness import (
    Gateway,
    Running,
    email_of,
    eventually,
    read_topic,
    receipt_of,
)

from common.producer import Producer
from domain.subscriptions import Subscription, SubscriptionStatus
from processors import scheduler
from processors.runtime import Context
from processors.subscriptions import repository as repo
from processors.subscriptions.repository import Card
from schemas.codec import decode
from schemas.messages import RenewSubscription

PLAN = "monthly"


async def saved_card(
    ctx: Context, sandbox: httpx.AsyncClient, card: str = "4242424242424242"
) -> str:
    """A card saved at the provider by a payment its holder made (CONTRACT §4)."""
    user = uuid.uuid4()
    obj = await ctx.provider.create_payment(
        uuid.uuid4(),
        user,
        Decimal("1.00"),
        "RUB",
        "https://x/",
        save_payment_method=True,
        receipt=receipt_of("1.00", user),
    )
    paid = await sandbox.post(f"/sandbox/payments/{obj.id}/confirm", json={"card_number": card})
    return str(paid.json()["payment_method"]["id"])


async def subscribed(ctx: Context, method: str, ends_in: timedelta) -> repo.SubscriptionRow:
    """A user one period into an auto-renewing subscription, bought by a payment made with
    an email (where the renewals' receipts go)."""
    user = uuid.uuid4()
    now = await repo.now(ctx.pool)
    state = Subscription(
        SubscriptionStatus.ACTIVE, now - timedelta(days=30) + ends_in, now + ends_in, True, True
    )
    async with ctx.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO payments_history.payments (id, user_id, plan_id, amount, currency,
                   status, idempotency_key, request_fingerprint, return_url, customer_email)
               VALUES ($1, $2, $3, 499, 'RUB', 'succeeded', 'first', 'fp', 'https://x/', $4)""",
            uuid.uuid4(),
            user,
            PLAN,
            email_of(user),
        )
        return await repo.save(
            conn, user, PLAN, state, periods=1, card=Card(method, "4242", "12/2030")
        )


async def charges_for(sandbox: httpx.AsyncClient, sub: repo.SubscriptionRow) -> list[dict]:
    ledger = (await sandbox.get("/sandbox/ledger")).json()
    return [p for p in ledger["payments"] if p["metadata"].get("subscription_id") == str(sub.id)]


def renew_command(
    sub: repo.SubscriptionRow, period: int = 2, attempt: int = 0
) -> RenewSubscription:
    return RenewSubscription.model_validate(
        {
            "subscription_id": sub.id,
            "user_id": sub.user_id,
            "period_number": period,
            "attempt": attempt,
        }
    )


async def test_a_renewal_delivered_three_times_charges_once_and_buys_one_period(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    sub = await subscribed(ctx, await saved_card(ctx, sandbox), timedelta(hours=1))
    cmd = renew_command(sub)
    topic = ctx.settings.commands_topic
    await gateway.send(topic, str(sub.user_id), cmd)
    await gateway.send(topic, str(sub.user_id), cmd)

    async def renewed() -> repo.SubscriptionRow | None:
        row = await repo.load(ctx.pool, sub.user_id)
        return row if row and row.periods == 2 else None

    row = await eventually(renewed)
    await gateway.send(topic, str(sub.user_id), cmd)  # a replay after it is done
    await asyncio.sleep(1.5)
    assert row.state.period_end == sub.state.period_end + timedelta(days=30)
    rows = await charges_for(sandbox, sub)
    assert [(p["metadata"]["period"], p["status"]) for p in rows] == [("2", "succeeded")]
    assert rows[0]["receipt"]["customer"] == {"email": email_of(sub.user_id)}
    assert (await repo.load(ctx.pool, sub.user_id)).periods == 2  # type: ignore[union-attr]
    types = await ctx.pool.fetch(
        "SELECT type FROM payments_history.outbox WHERE key = $1 ORDER BY id", str(sub.user_id)
    )
    assert [t["type"] for t in types] == ["PaymentSucceeded", "SubscriptionRenewed"]


async def test_a_renewal_for_a_period_already_paid_or_a_canceled_subscription_does_nothing(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    method = await saved_card(ctx, sandbox)
    stale = await subscribed(ctx, method, timedelta(hours=1))
    canceled = await subscribed(ctx, method, timedelta(hours=1))
    async with ctx.pool.acquire() as conn, conn.transaction():
        state = Subscription(**{**canceled.state.__dict__, "cancel_at_period_end": True})
        await repo.save(conn, canceled.user_id, PLAN, state, periods=1, card=canceled.card)
    topic = ctx.settings.commands_topic
    late = renew_command(stale, period=1)
    await gateway.send(topic, str(stale.user_id), late)
    await gateway.send(topic, str(canceled.user_id), renew_command(canceled))

    async def handled() -> bool:
        found = await ctx.pool.fetchval(
            "SELECT count(*) FROM payments_history.inbox WHERE message_id = ANY($1)",
            [late.message_id, renew_command(canceled).message_id],
        )
        return found == 2

    await eventually(handled)
    assert await charges_for(sandbox, stale) == [] and await charges_for(sandbox, canceled) == []


async def test_two_schedulers_produce_each_due_row_once(ctx: Context) -> None:
    method = "pm-" + uuid.uuid4().hex
    subs = [await subscribed(ctx, method, timedelta(hours=1)) for _ in range(30)]
    async with ctx.pool.acquire() as conn:
        for sub in subs:
            await repo.plan_due(conn, sub, "expire", sub.state.period_end - timedelta(hours=2), 1)
    publisher = Producer(ctx.settings)
    try:
        settings = ctx.settings.model_copy(update={"scheduler_batch": 7})
        ticks = await asyncio.gather(
            *(scheduler.tick(ctx.pool, publisher, settings, [s.id for s in subs]) for _ in range(3))
        )
    finally:
        await publisher.close()
    rows = await ctx.pool.fetch(
        "SELECT done_at FROM payments_history.subscription_due WHERE subscription_id = ANY($1)",
        [s.id for s in subs],
    )
    assert len(rows) == 30 and all(r["done_at"] is not None for r in rows)
    # The stack's own scheduler shares this database and may take some of the rows (to the
    # stack's topic, where they do nothing): what reached ours must be each row at most once.
    records = await read_topic(ctx.settings, ctx.settings.commands_topic, 30, within=5)
    ours = [decode(r.value) for r in records]
    mine = [c.subscription_id for c in ours if c.subscription_id in {s.id for s in subs}]  # type: ignore[attr-defined]
    assert len(mine) == len(set(mine))
    assert sum(t.produced for t in ticks) >= len(mine)
