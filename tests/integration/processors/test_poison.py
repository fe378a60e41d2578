"""Issue 10.4, poison and unknown, against real Kafka and PostgreSQL: an unknown field is
handled, what can never be handled reaches the DLQ topic with its reason (and the metric)
without holding the user's lane, and a refund that can never be sent ends `failed` (the
other rows that can never progress: test_give_up.py)."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
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

from processors import commands
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
