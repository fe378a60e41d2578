"""54-FZ end to end on a shop with receipts switched on (`PROVIDER_RECEIPTS_REQUIRED=1`), what
ever the environment says: a payment, a partial refund and a renewal each carry a receipt the
provider accepts, stored with our row; a payment without one is refused by the provider."""

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from processors_harness import (
    Gateway,
    Running,
    email_of,
    eventually,
    ledger_for,
    refund,
    refunds_in_ledger,
    started_provider,
    status_is,
)
from test_refunds import paid, refund_status
from test_renewals import charges_for, renew_command, saved_card, subscribed

from processors.runtime import Context
from processors.subscriptions import repository as repo


@pytest.fixture(scope="module")
def provider_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This module's own provider: a shop that refuses anything without a valid receipt."""
    yield from started_provider(
        tmp_path_factory, PROVIDER_RECEIPTS_REQUIRED="1", PROVIDER_RECEIPT_DELAY_S="0.2"
    )


async def test_payment_and_partial_refund_carry_the_receipts_stored_with_them(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    cmd, external_id = await paid(ctx, gateway, sandbox)
    [made] = await ledger_for(sandbox, cmd.payment_id)
    stored = await ctx.pool.fetchval(
        "SELECT receipt FROM payments_history.payments WHERE id = $1", cmd.payment_id
    )
    assert made["receipt"]["customer"] == {"email": email_of(cmd.user_id)}
    assert made["receipt"]["items"] == stored["items"]
    auth = (ctx.settings.provider_shop_id, ctx.settings.provider_secret_key.get_secret_value())
    shown = await sandbox.get(f"/v3/payments/{external_id}", auth=auth)
    assert shown.json().get("receipt_registration") in {"pending", "succeeded"}

    back = await gateway.new_refund(cmd, "100.50")
    await refund_status(ctx, back, "succeeded")
    row = await ctx.pool.fetchval(
        "SELECT receipt FROM payments_history.refunds WHERE id = $1", back.refund_id
    )
    assert row["items"][0]["amount"] == {"value": "100.50", "currency": "RUB"}
    [sent] = await refunds_in_ledger(sandbox, external_id)
    assert sent["receipt"] == row
    assert (await refund(ctx, back.refund_id))["status"] == "succeeded"


async def test_a_renewal_carries_a_receipt_for_the_subscribers_email(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    sub = await subscribed(ctx, await saved_card(ctx, sandbox), timedelta(hours=1))
    await gateway.send(ctx.settings.commands_topic, str(sub.user_id), renew_command(sub))

    async def renewed() -> repo.SubscriptionRow | None:
        row = await repo.load(ctx.pool, sub.user_id)
        return row if row and row.periods == 2 else None

    await eventually(renewed)
    [charge] = await charges_for(sandbox, sub)
    assert charge["status"] == "succeeded"
    assert charge["receipt"]["customer"] == {"email": email_of(sub.user_id)}
    assert charge["receipt"]["items"][0]["amount"]["value"] == charge["amount"]["value"]


async def test_a_renewal_finds_the_email_in_an_earlier_payments_receipt(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    """The column empty (as for a row written before it was filled), the stored receipt has it."""
    sub = await subscribed(ctx, await saved_card(ctx, sandbox), timedelta(hours=1))
    await ctx.pool.execute(
        """UPDATE payments_history.payments SET customer_email = NULL,
               receipt = jsonb_build_object('customer', jsonb_build_object('email', $2::text))
           WHERE user_id = $1""",
        sub.user_id,
        email_of(sub.user_id),
    )
    await gateway.send(ctx.settings.commands_topic, str(sub.user_id), renew_command(sub))

    async def renewed() -> repo.SubscriptionRow | None:
        row = await repo.load(ctx.pool, sub.user_id)
        return row if row and row.periods == 2 else None

    await eventually(renewed)
    [charge] = await charges_for(sandbox, sub)
    assert charge["receipt"]["customer"] == {"email": email_of(sub.user_id)}


async def test_a_renewal_without_any_email_fails_without_a_charge(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    sub = await subscribed(ctx, await saved_card(ctx, sandbox), timedelta(hours=1))
    await ctx.pool.execute(
        """UPDATE payments_history.payments SET customer_email = NULL, receipt = NULL
           WHERE user_id = $1""",
        sub.user_id,
    )
    await gateway.send(ctx.settings.commands_topic, str(sub.user_id), renew_command(sub))

    async def failed() -> str | None:
        reason: str | None = await ctx.pool.fetchval(
            """SELECT failure_reason FROM payments_history.payments
               WHERE subscription_id = $1 AND status = 'failed'""",
            sub.id,
        )
        return reason

    assert await eventually(failed) == "receipt_contact_required"
    assert await charges_for(sandbox, sub) == []


async def test_a_payment_stored_without_a_receipt_is_refused_by_the_shop(
    ctx: Context, gateway: Gateway, processors: Running, sandbox: httpx.AsyncClient
) -> None:
    """What the shop does when receipts were off at acceptance: the provider's 400 fails the
    payment for good (the proof that this module's shop really requires receipts)."""
    cmd = await gateway.new_payment(send=False)
    await ctx.pool.execute(
        "UPDATE payments_history.payments SET receipt = NULL WHERE id = $1", cmd.payment_id
    )
    await gateway.send(ctx.settings.commands_topic, str(cmd.user_id), cmd)
    row = await status_is(ctx, cmd.payment_id, "failed")
    assert "receipt" in row["failure_reason"]
    assert await ledger_for(sandbox, cmd.payment_id) == []
