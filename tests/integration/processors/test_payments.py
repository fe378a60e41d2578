"""CreatePayment through the commands processor, and webhooks through the webhooks processor."""

import asyncio
import uuid

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from processors_harness import (
    Gateway,
    Running,
    eventually,
    ledger_for,
    outbox_types,
    payment,
    receipt_of,
    status_is,
)

from processors import repository
from processors.handlers import payment_description
from processors.runtime import Context

PAY = {"card_number": "4242424242424242"}
DECLINE = {"card_number": "4000000000000002"}


async def confirm_and_notify(
    sandbox: httpx.AsyncClient, gateway: Gateway, external_id: str, card: dict[str, str]
) -> dict:
    obj = (await sandbox.post(f"/sandbox/payments/{external_id}/confirm", json=card)).json()
    event = "payment.succeeded" if obj["status"] == "succeeded" else "payment.canceled"
    await gateway.webhook(event, obj, external_id)
    return obj


async def test_paid_payment_goes_pending_then_succeeded_with_one_event_each(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd = await gateway.new_payment()
    row = await status_is(ctx, cmd.payment_id, "pending")
    assert row["confirmation_url"].endswith(f"/checkout/{row['external_id']}")
    assert row["next_check_at"] is not None
    await confirm_and_notify(sandbox, gateway, str(row["external_id"]), PAY)
    row = await status_is(ctx, cmd.payment_id, "succeeded")
    assert row["external_payment"]["status"] == "succeeded"
    assert await outbox_types(ctx, cmd.payment_id) == ["PaymentPending", "PaymentSucceeded"]
    assert len(await ledger_for(sandbox, cmd.payment_id)) == 1


async def test_declined_card_cancels_the_payment_with_the_reason(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd = await gateway.new_payment()
    row = await status_is(ctx, cmd.payment_id, "pending")
    await confirm_and_notify(sandbox, gateway, str(row["external_id"]), DECLINE)
    row = await status_is(ctx, cmd.payment_id, "canceled")
    assert row["failure_reason"] == "card_expired"
    assert await outbox_types(ctx, cmd.payment_id) == ["PaymentPending", "PaymentCanceled"]


async def test_provider_rejection_fails_the_payment_without_retrying(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd = await gateway.new_payment(send=False)
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET return_url = $2 WHERE id = $1",
        cmd.payment_id,
        "https://x/" + "a" * 3000,
    )
    await gateway.send(ctx.settings.commands_topic, str(cmd.user_id), cmd)
    row = await status_is(ctx, cmd.payment_id, "failed")
    assert row["failure_reason"].startswith("provider_rejected")
    assert await outbox_types(ctx, cmd.payment_id) == ["PaymentFailed"]
    assert await ledger_for(sandbox, cmd.payment_id) == []


async def test_transient_provider_errors_are_retried_with_the_same_key_into_one_payment(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    await sandbox.post("/sandbox/faults", json={"error_rate": 0.6, "seed": 7})
    cmds = [await gateway.new_payment() for _ in range(8)]
    await asyncio.sleep(4.0)  # 4 attempts each, backoff ≤ 0.4 s: every lane has settled
    await sandbox.delete("/sandbox/faults")
    statuses = []
    for cmd in cmds:
        row = await payment(ctx, cmd.payment_id)
        made = await ledger_for(sandbox, cmd.payment_id)
        assert len(made) == (1 if row["status"] == "pending" else 0)
        statuses.append(row["status"])
    assert statuses.count("pending") >= 4  # P(4 failures in a row) = 0.13 per payment


async def test_timeout_after_commit_finds_the_same_provider_payment_and_charges_once(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    await sandbox.post("/sandbox/faults", json={"timeout_after_commit_rate": 1.0})
    cmd = await gateway.new_payment()
    await eventually(lambda: ledger_for(sandbox, cmd.payment_id))  # done, but never answered
    await sandbox.delete("/sandbox/faults")
    row = await status_is(ctx, cmd.payment_id, "pending", within=30)
    [made] = await ledger_for(sandbox, cmd.payment_id)
    assert str(row["external_id"]) == made["id"]
    await confirm_and_notify(sandbox, gateway, made["id"], PAY)
    await status_is(ctx, cmd.payment_id, "succeeded")
    ledger = (await sandbox.get("/sandbox/ledger")).json()
    charged = [
        p for p in ledger["payments"] if p["metadata"].get("payment_id") == str(cmd.payment_id)
    ]
    assert [p["status"] for p in charged] == ["succeeded"]


async def test_redriven_command_sends_the_provider_the_same_body_as_the_first_attempt(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    """An attempt reached the provider and died before our commit; the reconciler's re-drive
    carries no description: the provider must still see the same body, or it refuses the
    reused key and the payment would be failed here while pending there."""
    cmd = await gateway.new_payment(send=False)
    row = await repository.load_payment(ctx.pool, cmd.payment_id)
    assert row is not None
    first = await ctx.provider.create_payment(
        row.id,
        row.user_id,
        row.amount,
        row.currency,
        row.return_url,
        payment_description(row),
        receipt=row.receipt,
    )
    redrive = cmd.model_copy(update={"description": ""})

    await gateway.send(ctx.settings.commands_topic, str(cmd.user_id), redrive)

    done = await status_is(ctx, cmd.payment_id, "pending")
    assert str(done["external_id"]) == first.id
    assert len(await ledger_for(sandbox, cmd.payment_id)) == 1


async def test_replayed_create_command_calls_the_provider_once_and_changes_nothing(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd = await gateway.new_payment()
    await gateway.send(ctx.settings.commands_topic, str(cmd.user_id), cmd)
    before = await status_is(ctx, cmd.payment_id, "pending")
    await asyncio.sleep(1.0)
    await gateway.send(ctx.settings.commands_topic, str(cmd.user_id), cmd)
    await asyncio.sleep(1.5)
    after = await payment(ctx, cmd.payment_id)
    assert after["updated_at"] == before["updated_at"]
    assert await outbox_types(ctx, cmd.payment_id) == ["PaymentPending"]
    assert len(await ledger_for(sandbox, cmd.payment_id)) == 1


async def test_webhook_arriving_before_our_row_is_retried_until_the_row_exists(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd = await gateway.new_payment(send=False)
    await ctx.pool.execute("DELETE FROM payments_history.payments WHERE id = $1", cmd.payment_id)
    obj = await ctx.provider.create_payment(
        cmd.payment_id,
        cmd.user_id,
        cmd.amount,
        "RUB",
        cmd.return_url,
        receipt=receipt_of(cmd.amount, cmd.user_id),
    )
    paid = await confirm_and_notify(sandbox, gateway, obj.id, PAY)
    await asyncio.sleep(0.4)
    await ctx.pool.execute(
        """INSERT INTO payments_history.payments (id, user_id, plan_id, amount, currency,
           idempotency_key, request_fingerprint, return_url)
           VALUES ($1, $2, 'monthly', $3, 'RUB', $4, 'fp', $5)""",
        cmd.payment_id,
        cmd.user_id,
        cmd.amount,
        uuid.uuid4().hex,
        cmd.return_url,
    )
    row = await status_is(ctx, cmd.payment_id, "succeeded")
    assert str(row["external_id"]) == paid["id"]
    await gateway.send(ctx.settings.commands_topic, str(cmd.user_id), cmd)  # the late command
    await asyncio.sleep(1.5)
    assert (await payment(ctx, cmd.payment_id))["status"] == "succeeded"
    assert await outbox_types(ctx, cmd.payment_id) == ["PaymentSucceeded"]
    assert len(await ledger_for(sandbox, cmd.payment_id)) == 1


async def test_forged_webhook_for_an_unknown_provider_payment_changes_nothing(
    ctx: Context, gateway: Gateway, processors: Running
) -> None:
    cmd = await gateway.new_payment()
    await status_is(ctx, cmd.payment_id, "pending")
    forged_id = str(uuid.uuid4())
    forged = {
        "id": forged_id,
        "status": "succeeded",
        "paid": True,
        "amount": {"value": "499.00", "currency": "RUB"},
        "metadata": {"payment_id": str(cmd.payment_id)},
    }
    await gateway.webhook("payment.succeeded", forged, forged_id)

    admin = AIOKafkaAdminClient(bootstrap_servers=ctx.settings.kafka_bootstrap_servers)
    await admin.start()

    async def handled() -> bool:  # the processor committed past it: it is done with it
        offsets = await admin.list_consumer_group_offsets(ctx.settings.webhooks_group)
        return sum(max(o.offset, 0) for o in offsets.values()) >= 1

    try:
        await eventually(handled)
    finally:
        await admin.close()
    assert (await payment(ctx, cmd.payment_id))["status"] == "pending"
    recorded = await ctx.pool.fetchval(
        """SELECT count(*) FROM payments_history.inbox
           WHERE consumer = 'processor-webhooks' AND topic = $1""",
        ctx.settings.webhooks_topic,
    )
    assert recorded == 0  # changed nothing: it must not block a genuine notification
    assert await outbox_types(ctx, cmd.payment_id) == ["PaymentPending"]


async def test_duplicate_and_out_of_order_webhooks_are_harmless(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd = await gateway.new_payment()
    row = await status_is(ctx, cmd.payment_id, "pending")
    external_id = str(row["external_id"])
    stale = (
        await sandbox.get(
            f"/v3/payments/{external_id}", auth=("100500", "test_dev_only_secret_change_me")
        )
    ).json()
    paid = await confirm_and_notify(sandbox, gateway, external_id, PAY)
    await gateway.webhook("payment.succeeded", paid, external_id)
    await gateway.webhook("payment.waiting_for_capture", stale, external_id)
    await status_is(ctx, cmd.payment_id, "succeeded")
    await asyncio.sleep(1.5)
    assert (await payment(ctx, cmd.payment_id))["status"] == "succeeded"
    assert await outbox_types(ctx, cmd.payment_id) == ["PaymentPending", "PaymentSucceeded"]
