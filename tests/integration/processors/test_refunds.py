"""RefundPayment: reservation under the payment's row lock, then the provider, then the ledger."""

import asyncio
from decimal import Decimal

import httpx
from processors_harness import (
    Gateway,
    Running,
    outbox_types,
    paid,
    payment,
    refund,
    refunds_in_ledger,
)

from processors import handlers
from processors.inbox import InboxEntry, Origin
from processors.runtime import Context
from schemas.messages import RefundPayment


async def refund_status(ctx: Context, cmd: RefundPayment, *statuses: str) -> dict:
    async def check() -> dict | None:
        row = await refund(ctx, cmd.refund_id)
        return row if row.get("status") in statuses else None

    from processors_harness import eventually

    return await eventually(check)


async def test_partial_refunds_add_up_to_the_full_amount_and_no_further(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd, external_id = await paid(ctx, gateway, sandbox)
    first = await gateway.new_refund(cmd, "200.00")
    await refund_status(ctx, first, "succeeded")
    second = await gateway.new_refund(cmd, "299.00")
    await refund_status(ctx, second, "succeeded")
    row = await payment(ctx, cmd.payment_id)
    assert (row["refunded_amount"], row["refunded"]) == (Decimal("499.00"), True)
    beyond = await gateway.new_refund(cmd, "1.00")
    failed = await refund_status(ctx, beyond, "failed")
    assert "exceeds" in failed["failure_reason"]
    assert [r["amount"]["value"] for r in await refunds_in_ledger(sandbox, external_id)] == [
        "200.00",
        "299.00",
    ]
    types = await outbox_types(ctx, cmd.payment_id)
    assert types.count("RefundSucceeded") == 2 and types.count("RefundFailed") == 1


async def test_two_refunds_racing_for_the_same_money_only_one_wins(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd, external_id = await paid(ctx, gateway, sandbox)
    one = await gateway.new_refund(cmd, "300.00", send=False)
    two = await gateway.new_refund(cmd, "300.00", send=False)

    def origin(r: RefundPayment, offset: int) -> InboxEntry:
        where = Origin("race", 0, offset)
        return InboxEntry(handlers.CONSUMER, r.message_id, r.type, where, r.payment_id)

    await asyncio.gather(
        handlers.refund_payment(one, origin(one, 1), ctx),
        handlers.refund_payment(two, origin(two, 2), ctx),
    )
    outcomes = sorted(
        [(await refund(ctx, one.refund_id))["status"], (await refund(ctx, two.refund_id))["status"]]
    )
    assert outcomes == ["failed", "succeeded"]
    assert len(await refunds_in_ledger(sandbox, external_id)) == 1
    assert (await payment(ctx, cmd.payment_id))["refunded_amount"] == Decimal("300.00")


async def test_replayed_refund_command_refunds_once(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd, external_id = await paid(ctx, gateway, sandbox)
    first = await gateway.new_refund(cmd, "100.00")
    await refund_status(ctx, first, "succeeded")
    await gateway.send(ctx.settings.commands_topic, str(cmd.user_id), first)
    await asyncio.sleep(1.5)
    assert len(await refunds_in_ledger(sandbox, external_id)) == 1
    assert (await payment(ctx, cmd.payment_id))["refunded_amount"] == Decimal("100.00")
    assert (await outbox_types(ctx, cmd.payment_id)).count("RefundSucceeded") == 1
