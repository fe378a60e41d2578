"""RefundPayment through the handler, in memory: reservation under the payment's lock (T1),
the provider call, then the ledger (T2)."""

import asyncio
from dataclasses import replace
from decimal import Decimal

import pytest
from fakes import Crash, FakeDeps
from world import (
    new_refund,
    notify,
    origin,
    paid_payment,
    put_row,
    refund,
    refund_row,
    row,
)

from domain.refunds import RefundStatus
from processors import handlers, reconciler
from processors.errors import ProviderRejected, ProviderUnavailable

R = RefundStatus


async def test_a_refund_reserves_then_succeeds_and_moves_the_ledger() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    cmd = new_refund(deps, paid, "200.00")
    await refund(deps, cmd)
    done = refund_row(deps, cmd)
    assert done.status is R.SUCCEEDED and done.external_id is not None
    assert row(deps, paid).refunded_amount == Decimal("200.00")
    assert deps.store.events(cmd.refund_id) == ["RefundSucceeded"]


async def test_two_refunds_for_the_same_money_the_second_sees_the_reservation() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    deps.provider.faults.append(ProviderUnavailable("503"))  # the first stays reserved
    first = new_refund(deps, paid, "400.00")
    await refund(deps, first)
    assert refund_row(deps, first).reserved and refund_row(deps, first).status is R.ACCEPTED
    second = new_refund(deps, paid, "200.00")
    await refund(deps, second)
    assert refund_row(deps, second).status is R.FAILED
    assert "exceeds" in deps.store.rows.refund_reason[second.refund_id]
    assert deps.store.events(second.refund_id) == ["RefundFailed"]
    assert deps.provider.calls.count("create_refund") == 1


async def test_two_refunds_racing_for_the_last_money_one_wins() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    one, two = new_refund(deps, paid, "300.00"), new_refund(deps, paid, "300.00")
    await asyncio.gather(refund(deps, one), refund(deps, two))
    statuses = sorted([refund_row(deps, one).status, refund_row(deps, two).status])
    assert statuses == [R.FAILED, R.SUCCEEDED]
    assert row(deps, paid).refunded_amount == Decimal("300.00")


async def test_partial_refunds_add_up_to_the_full_amount_and_no_further() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    for amount in ("200.00", "299.00"):
        await refund(deps, new_refund(deps, paid, amount))
    assert (row(deps, paid).refunded_amount, row(deps, paid).refunded) == (
        Decimal("499.00"),
        True,
    )
    beyond = new_refund(deps, paid, "1.00")
    await refund(deps, beyond)
    assert refund_row(deps, beyond).status is R.FAILED
    assert "exceeds" in deps.store.rows.refund_reason[beyond.refund_id]


async def test_a_refund_of_a_payment_not_succeeded_fails_without_asking_the_provider() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    put_row(deps, row(deps, paid), status="canceled")
    cmd = new_refund(deps, paid, "1.00")
    await refund(deps, cmd)
    assert refund_row(deps, cmd).status is R.FAILED
    assert "only succeeded" in deps.store.rows.refund_reason[cmd.refund_id]
    assert "create_refund" not in deps.provider.calls


async def test_provider_unavailable_keeps_the_reservation_and_a_redrive_finishes_it() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    cmd = new_refund(deps, paid, "100.00")
    deps.provider.faults.append("timeout_after_commit")
    await refund(deps, cmd)
    assert refund_row(deps, cmd).status is R.ACCEPTED and refund_row(deps, cmd).reserved
    assert (handlers.CONSUMER, cmd.message_id) not in deps.store.rows.inbox
    await refund(deps, cmd)  # the reconciler's re-drive
    assert refund_row(deps, cmd).status is R.SUCCEEDED
    assert len(deps.provider.refunds) == 1
    assert row(deps, paid).refunded_amount == Decimal("100.00")


async def test_provider_answered_no_commit_refunds_once() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    cmd = new_refund(deps, paid, "100.00")
    deps.uow.crashes = [False, True]  # T1 (reserve) commits, T2 (ledger) dies before COMMIT
    with pytest.raises(Crash):
        await refund(deps, cmd)
    assert refund_row(deps, cmd).status is R.ACCEPTED and refund_row(deps, cmd).reserved
    assert row(deps, paid).refunded_amount == Decimal("0.00")
    await refund(deps, cmd)  # redelivered: same Idempotence-Key, same provider refund
    assert refund_row(deps, cmd).status is R.SUCCEEDED
    assert len(deps.provider.refunds) == 1
    assert row(deps, paid).refunded_amount == Decimal("100.00")
    assert deps.store.events(cmd.refund_id) == ["RefundSucceeded"]


async def test_provider_4xx_fails_the_refund_and_releases_the_reservation() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    cmd = new_refund(deps, paid, "100.00")
    deps.provider.faults.append(ProviderRejected("refund refused", code="invalid_request"))
    await refund(deps, cmd)
    failed = refund_row(deps, cmd)
    assert failed.status is R.FAILED and not failed.reserved
    assert deps.store.rows.refund_reason[cmd.refund_id] == "provider_rejected: refund refused"
    assert deps.store.events(cmd.refund_id) == ["RefundFailed"]


async def test_a_redelivered_refund_after_commit_is_skipped_by_the_inbox() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    cmd = new_refund(deps, paid, "100.00")
    where = origin(handlers.CONSUMER, cmd)
    await handlers.refund_payment(cmd, where, deps)
    records = deps.store.calls.count("record")
    await handlers.refund_payment(cmd, where, deps)
    assert deps.store.calls.count("record") == records
    assert deps.provider.calls.count("create_refund") == 1


async def test_a_pending_refund_keeps_its_provider_id_and_is_not_marked_done() -> None:
    """Issue 10.1: the provider answers `pending`; the re-drive must not be skipped as done."""
    deps = FakeDeps()
    paid = await paid_payment(deps)
    deps.provider.refund_status = R.ACCEPTED  # the provider's `pending`
    cmd = new_refund(deps, paid, "100.00")
    await refund(deps, cmd)
    [provider_refund] = deps.provider.refunds.values()
    pending = refund_row(deps, cmd)
    assert pending.status is R.ACCEPTED and pending.reserved
    assert pending.external_id == provider_refund.external_id
    assert (handlers.CONSUMER, cmd.message_id) not in deps.store.rows.inbox
    assert deps.store.events(cmd.refund_id) == []


async def test_the_reconciler_re_reads_a_pending_refund_until_it_succeeds() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    deps.provider.refund_status = R.ACCEPTED
    cmd = new_refund(deps, paid, "100.00")
    await refund(deps, cmd)
    await reconciler.recheck_refund(deps, cmd.refund_id)  # still pending: nothing moves
    assert refund_row(deps, cmd).status is R.ACCEPTED
    [provider_refund] = deps.provider.refunds.values()
    deps.provider.refunds[provider_refund.id] = replace(provider_refund, status=R.SUCCEEDED)
    await reconciler.recheck_refund(deps, cmd.refund_id)
    assert refund_row(deps, cmd).status is R.SUCCEEDED
    assert row(deps, paid).refunded_amount == Decimal("100.00")
    assert deps.store.events(cmd.refund_id) == ["RefundSucceeded"]


async def test_a_canceled_pending_refund_fails_with_its_reason_and_releases_the_money() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    deps.provider.refund_status = R.ACCEPTED
    cmd = new_refund(deps, paid, "499.00")
    await refund(deps, cmd)
    [provider_refund] = deps.provider.refunds.values()
    canceled = replace(provider_refund, status=R.FAILED, cancellation_reason="rejected_by_payee")
    deps.provider.refunds[provider_refund.id] = canceled
    await notify(deps, str(row(deps, paid).external_id), "refund.canceled", provider_refund.id)
    failed = refund_row(deps, cmd)
    assert failed.status is R.FAILED and not failed.reserved
    assert deps.store.rows.refund_reason[cmd.refund_id] == "rejected_by_payee"
    assert deps.store.events(cmd.refund_id) == ["RefundFailed"]
    again = new_refund(deps, paid, "499.00")  # the money is available again
    deps.provider.refund_status = R.SUCCEEDED
    await refund(deps, again)
    assert refund_row(deps, again).status is R.SUCCEEDED


async def test_a_refund_of_a_payment_without_provider_id_fails_for_good_and_is_done() -> None:
    """There is nothing to send it against: failed with its reason, the reservation released,
    the command recorded (a re-drive is skipped), the provider never asked."""
    deps = FakeDeps()
    paid = await paid_payment(deps)
    put_row(deps, replace(row(deps, paid), external_id=None))
    cmd = new_refund(deps, paid, "100.00")
    await refund(deps, cmd)
    failed = refund_row(deps, cmd)
    assert failed.status is R.FAILED and not failed.reserved
    assert deps.store.rows.refunds[cmd.refund_id] == failed
    assert deps.provider.calls.count("create_refund") == 0
    assert deps.store.events(cmd.refund_id) == ["RefundFailed"]
    assert (handlers.CONSUMER, cmd.message_id) in deps.store.rows.inbox
