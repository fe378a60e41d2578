"""Issue 10.4, poison and unknown, against real Kafka and PostgreSQL: an unknown field is
handled, what can never be handled reaches the DLQ topic with its reason (and the metric)
without holding the user's lane, and a row that can never progress ends `failed`."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from processors_harness import (
    Gateway,
    Running,
    eventually,
    outbox_types,
    payment,
    read_topic,
    refund,
    status_is,
)
from prometheus_client import REGISTRY
from test_renewals import subscribed

from common.producer import Producer
from processors import commands, reconciler, scheduler
from processors.provider.yookassa import RetryPolicy, make_client
from processors.runtime import Context, connect_pool
from processors.settings import ProcessorSettings
from schemas.codec import decode, encode
from schemas.messages import DeadLetter


async def _true(value: bool) -> bool:
    return value


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def forget_dead_letters(ctx: Context, topic: str) -> None:
    """The stack shares the dead_letters table: leave no pending dead letter of this test for
    its operator (the row is inserted just after the letter is produced)."""
    sql = "DELETE FROM payments_history.dead_letters WHERE origin_topic = $1"

    async def deleted() -> bool:
        return str(await ctx.pool.execute(sql, topic)) != "DELETE 0"

    await eventually(deleted)


async def letters_of(settings: ProcessorSettings, count: int) -> list[DeadLetter]:
    records = await read_topic(settings, settings.dlq_topic, count)
    letters = [decode(r.value) for r in records]
    assert all(isinstance(letter, DeadLetter) for letter in letters)
    return letters  # type: ignore[return-value]


async def test_a_command_with_a_field_this_version_does_not_know_is_handled(
    ctx: Context, gateway: Gateway, processors: Running
) -> None:
    """A rolling deploy: the new gateway adds a field; the old processor must not skip it."""
    cmd = await gateway.new_payment(send=False)
    wire = json.loads(encode(cmd)) | {"coupon": "SPRING", "channel": {"app": "tv"}}
    await gateway.producer.send_and_wait(
        ctx.settings.commands_topic, json.dumps(wire).encode(), key=str(cmd.user_id).encode()
    )
    row = await status_is(ctx, cmd.payment_id, "pending")
    assert row["external_id"] is not None


async def test_a_malformed_command_is_dead_lettered_with_its_reason_and_counted(
    ctx: Context, gateway: Gateway, processors: Running
) -> None:
    before = counted("billing_dead_letters_total", consumer="processor-commands")
    user = str(uuid.uuid4())
    bad = {"type": "CreatePayment", "message_id": str(uuid.uuid4()), "amount": "lots"}
    await gateway.producer.send_and_wait(
        ctx.settings.commands_topic, json.dumps(bad).encode(), key=user.encode()
    )
    [letter] = await letters_of(ctx.settings, 1)
    assert letter.consumer == "processor-commands" and letter.original_key == user
    assert letter.original_topic == ctx.settings.commands_topic
    assert letter.error.startswith("undecodable: ") and "amount" in letter.error
    assert json.loads(letter.original_value) == bad
    row = await eventually(  # produced first, then its row: the row may come a moment later
        lambda: ctx.pool.fetchrow(
            "SELECT error, payload FROM payments_history.dead_letters"
            " WHERE consumer = 'processor-commands' AND origin_topic = $1",
            ctx.settings.commands_topic,
        )
    )
    assert row["error"] == letter.error
    await forget_dead_letters(ctx, ctx.settings.commands_topic)
    await eventually(
        lambda: _true(
            counted("billing_dead_letters_total", consumer="processor-commands") == before + 1
        )
    )


class UnknownStatus(httpx.AsyncBaseTransport):
    """The real sandbox behind it; for the payments named in `poisoned`, the provider's answer
    carries a status no version of ours knows (what a new provider feature could send)."""

    def __init__(self, poisoned: set[str]) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self.poisoned = poisoned

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._real.handle_async_request(request)
        body = await response.aread()
        obj: Any = json.loads(body) if body else None
        if isinstance(obj, dict) and obj.get("metadata", {}).get("payment_id") in self.poisoned:
            obj["status"] = "waiting_for_review"
            body = json.dumps(obj).encode()
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        return httpx.Response(response.status_code, headers=headers, content=body)

    async def aclose(self) -> None:
        await self._real.aclose()


@pytest.fixture
async def odd_provider(settings: ProcessorSettings) -> AsyncIterator[tuple[Context, set[str]]]:
    """The commands processor, its provider answering an unknown status for some payments."""
    poisoned: set[str] = set()
    policy = RetryPolicy(
        attempts=settings.provider_attempts,
        timeout_s=settings.provider_timeout_s,
        backoff_s=settings.provider_backoff_s,
    )
    provider = make_client(
        settings.provider_url,
        settings.provider_shop_id,
        settings.provider_secret_key.get_secret_value(),
        policy,
        transport=UnknownStatus(poisoned),
    )
    ctx = Context(settings, await connect_pool(settings), provider)
    running = Running()
    running.tasks.append(asyncio.create_task(commands.build_loop(ctx).run(running.stop)))
    yield ctx, poisoned
    await running.close()
    await ctx.aclose()


async def test_an_unknown_provider_status_is_dead_lettered_and_the_lane_moves_on(
    odd_provider: tuple[Context, set[str]], gateway: Gateway
) -> None:
    ctx, poisoned = odd_provider
    first = await gateway.new_payment(send=False)
    poisoned.add(str(first.payment_id))
    second = await _second_payment_of(gateway, ctx, first.user_id)
    topic, key = ctx.settings.commands_topic, str(first.user_id)
    await gateway.send(topic, key, first)
    await gateway.send(topic, key, second)  # same user, same lane, behind the poison
    [letter] = await letters_of(ctx.settings, 1)
    assert letter.error.startswith("permanent: unknown provider payment status")
    assert json.loads(letter.original_value)["payment_id"] == str(first.payment_id)
    await status_is(ctx, second.payment_id, "pending")
    row = await payment(ctx, first.payment_id)  # nothing applied; left to the reconciler
    assert (row["status"], row["external_id"]) == ("accepted", None)
    await forget_dead_letters(ctx, topic)


async def _second_payment_of(gateway: Gateway, ctx: Context, user_id: uuid.UUID) -> Any:
    """Another CreatePayment of the same user (the harness gives each payment a new user)."""
    cmd = await gateway.new_payment(send=False)
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET user_id = $2 WHERE id = $1",
        cmd.payment_id,
        user_id,
    )
    return cmd.model_copy(update={"user_id": user_id})


async def test_a_refund_of_a_payment_without_provider_id_fails_with_its_reason(
    ctx: Context, gateway: Gateway, processors: Running
) -> None:
    """It can never be sent: it used to stay `accepted`, re-driven every 30 s for good."""
    before = counted("billing_gave_up_total", kind="refund", reason="no_provider_id")
    cmd = await gateway.new_payment(send=False)
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET status = 'succeeded' WHERE id = $1", cmd.payment_id
    )
    ask = await gateway.new_refund(cmd, "499.00")

    async def failed() -> dict[str, Any] | None:
        row = await refund(ctx, ask.refund_id)
        return row if row.get("status") == "failed" else None

    row = await eventually(failed)
    assert row["failure_reason"].startswith("gave_up: no_provider_id: ")
    assert not row["reserved"]
    assert "RefundFailed" in await outbox_types(ctx, cmd.payment_id)
    after = counted("billing_gave_up_total", kind="refund", reason="no_provider_id")
    assert after == before + 1


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
    await aged(ctx, "payments", never_sent.payment_id, 41)
    await aged(ctx, "refunds", ask.refund_id, 41)
    await reconciler.give_up_stale(ctx)
    row = await payment(ctx, never_sent.payment_id)
    assert row["status"] == "failed"
    assert row["failure_reason"].startswith("gave_up: not_sent_in_time: ")
    assert (await refund(ctx, ask.refund_id))["failure_reason"].startswith("gave_up: not_sent")
    await reconciler.give_up_stale(ctx)  # once: a guarded update
    assert await outbox_types(ctx, never_sent.payment_id) == ["PaymentFailed"]


async def test_a_pending_payment_the_provider_does_not_know_ends_failed_past_the_age(
    ctx: Context, gateway: Gateway
) -> None:
    """Its re-read is a 404 every time: it used to be re-read hourly for good."""
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
    row = await payment(ctx, cmd.payment_id)
    assert row["status"] == "failed"
    assert row["failure_reason"].startswith("gave_up: unreadable_at_provider: ")


async def test_a_pending_refund_the_provider_does_not_know_ends_failed_past_the_age(
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
    assert (row["status"], row["reserved"]) == ("failed", False)
    assert row["failure_reason"].startswith("gave_up: unreadable_at_provider: ")


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
