"""Provider notifications through the webhooks handler, in memory. The body is never
trusted: the handler re-reads the provider and applies what it says, forward only."""

from dataclasses import replace
from decimal import Decimal

import pytest
from fakes import FakeDeps
from prometheus_client import REGISTRY
from world import (
    create,
    forget_row,
    new_payment,
    new_refund,
    notification,
    notify,
    origin,
    paid_payment,
    refund,
    refund_row,
    row,
)

from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors import apply, webhooks
from processors.errors import LedgerAnomaly
from processors.runtime import POLICY

P = PaymentStatus


async def pending(deps: FakeDeps, amount: str = "499.00") -> tuple[object, str]:
    cmd = new_payment(deps, amount)
    await create(deps, cmd)
    return cmd, str(row(deps, cmd).external_id)


async def test_a_paid_payment_succeeds_with_its_event() -> None:
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    deps.provider.settle(external_id, P.SUCCEEDED)
    await notify(deps, external_id, "payment.succeeded")
    assert row(deps, cmd).status is P.SUCCEEDED
    assert deps.store.events() == ["PaymentPending", "PaymentSucceeded"]


async def test_a_canceled_payment_keeps_the_providers_reason() -> None:
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    deps.provider.settle(external_id, P.CANCELED, "card_expired")
    await notify(deps, external_id, "payment.canceled")
    assert (row(deps, cmd).status, row(deps, cmd).failure_reason) == (P.CANCELED, "card_expired")


async def test_a_duplicated_webhook_changes_nothing_the_second_time() -> None:
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    deps.provider.settle(external_id, P.SUCCEEDED)
    note = notification(external_id, "payment.succeeded")
    where = origin(webhooks.CONSUMER, note)
    await webhooks.handle_notification(note, where, deps)
    reads, records = deps.provider.calls.count("get_payment"), deps.store.calls.count("record")
    await webhooks.handle_notification(note, where, deps)
    assert deps.provider.calls.count("get_payment") == reads
    assert deps.store.calls.count("record") == records
    assert deps.store.events() == ["PaymentPending", "PaymentSucceeded"]


async def test_a_second_webhook_with_another_id_for_the_same_status_emits_nothing() -> None:
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    deps.provider.settle(external_id, P.SUCCEEDED)
    await notify(deps, external_id, "payment.succeeded")
    await notify(deps, external_id, "payment.waiting_for_capture")
    assert deps.store.events() == ["PaymentPending", "PaymentSucceeded"]


async def test_webhooks_out_of_order_never_move_a_status_back() -> None:
    """The provider lags (a replica) and still says pending for a payment we know paid."""
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    deps.provider.settle(external_id, P.SUCCEEDED)
    await notify(deps, external_id, "payment.succeeded")
    deps.provider.settle(external_id, P.PENDING)
    await notify(deps, external_id, "payment.waiting_for_capture")
    assert row(deps, cmd).status is P.SUCCEEDED
    assert deps.store.events() == ["PaymentPending", "PaymentSucceeded"]


async def test_the_body_is_never_trusted_the_provider_is_re_read() -> None:
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    forged = notification(external_id, "payment.succeeded", body_status="succeeded")
    await webhooks.handle_notification(forged, origin(webhooks.CONSUMER, forged), deps)
    assert row(deps, cmd).status is P.PENDING  # the provider says pending
    assert deps.store.events() == ["PaymentPending"]


async def test_a_forged_webhook_claiming_success_cannot_suppress_the_genuine_one() -> None:
    """Issue 10.2: the forged body's message_id is the genuine one's; the provider still says
    pending, so nothing is applied and nothing may be recorded as done."""
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    forged = notification(external_id, "payment.succeeded", body_status="succeeded")
    await webhooks.handle_notification(forged, origin(webhooks.CONSUMER, forged), deps)
    assert (webhooks.CONSUMER, forged.message_id) not in deps.store.rows.inbox
    deps.provider.settle(external_id, P.SUCCEEDED)
    genuine = notification(external_id, "payment.succeeded", body_status="succeeded")
    assert genuine.message_id == forged.message_id
    await webhooks.handle_notification(genuine, origin(webhooks.CONSUMER, genuine), deps)
    assert row(deps, cmd).status is P.SUCCEEDED
    assert (webhooks.CONSUMER, genuine.message_id) in deps.store.rows.inbox


async def test_a_forged_webhook_for_an_unknown_provider_payment_changes_nothing() -> None:
    deps = FakeDeps()
    cmd, _ = await pending(deps)
    note = await notify(deps, "00000000-0000-0000-0000-000000000000", "payment.succeeded")
    assert (webhooks.CONSUMER, note.message_id) not in deps.store.rows.inbox
    assert row(deps, cmd).status is P.PENDING and deps.store.events() == ["PaymentPending"]


async def test_a_provider_payment_that_is_not_ours_is_ignored_and_not_recorded() -> None:
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    foreign = replace(deps.provider.payments[external_id], our_payment_id=None)
    deps.provider.payments[external_id] = replace(foreign, status=P.SUCCEEDED)
    note = await notify(deps, external_id, "payment.succeeded")
    assert (webhooks.CONSUMER, note.message_id) not in deps.store.rows.inbox
    assert row(deps, cmd).status is P.PENDING


def anomalies(kind: str) -> float:
    return REGISTRY.get_sample_value("billing_ledger_anomalies_total", {"kind": kind}) or 0.0


async def test_a_provider_object_with_another_amount_is_not_applied_but_dead_lettered() -> None:
    """Issue 10: money that contradicts our ledger was dropped with a log line only; now it
    raises the error the lane dead-letters at once (with the reason), and is counted."""
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    obj = deps.provider.payments[external_id]
    deps.provider.payments[external_id] = replace(obj, status=P.SUCCEEDED, amount=Decimal("1.00"))
    before = anomalies("payment")
    with pytest.raises(LedgerAnomaly, match="amount 1.00 RUB differs") as raised:
        await notify(deps, external_id, "payment.succeeded")
    assert isinstance(raised.value, POLICY.permanent)
    assert anomalies("payment") == before + 1
    assert row(deps, cmd).status is P.PENDING and deps.store.events() == ["PaymentPending"]
    assert not any(consumer == webhooks.CONSUMER for consumer, _ in deps.store.rows.inbox)


async def test_a_provider_object_with_another_id_than_ours_is_not_applied() -> None:
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    impostor = replace(
        deps.provider.payments[external_id],
        id="11111111-1111-1111-1111-111111111111",
        status=P.SUCCEEDED,
    )
    deps.provider.payments[impostor.id] = impostor
    with pytest.raises(LedgerAnomaly, match="differs from ours"):
        await notify(deps, impostor.id, "payment.succeeded")
    assert row(deps, cmd).status is P.PENDING


async def test_a_webhook_before_our_row_is_retried_then_left_without_a_trace() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    saved = forget_row(deps, cmd.payment_id)
    made = await deps.provider.create_payment(
        cmd.payment_id, cmd.user_id, cmd.amount, "RUB", cmd.return_url
    )
    deps.provider.settle(made.id, P.SUCCEEDED)
    note = await notify(deps, made.id, "payment.succeeded")
    assert deps.store.calls.count("payment") == deps.settings.webhook_row_attempts
    assert (webhooks.CONSUMER, note.message_id) not in deps.store.rows.inbox
    deps.store.rows.payments[saved.id] = saved  # the gateway's row lands
    await webhooks.handle_notification(note, origin(webhooks.CONSUMER, note), deps)
    assert row(deps, cmd).status is P.SUCCEEDED
    await create(deps, cmd)  # the late command finds it moved: inbox only, no provider call
    assert deps.provider.calls.count("create_payment") == 1
    assert deps.store.events() == ["PaymentSucceeded"]


async def test_a_refund_webhook_finishes_a_refund_the_provider_settled_later() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    deps.provider.refund_status = RefundStatus.ACCEPTED  # the provider's refund is pending
    cmd = new_refund(deps, paid, "100.00")
    await refund(deps, cmd)
    [provider_refund] = deps.provider.refunds.values()
    assert refund_row(deps, cmd).status is RefundStatus.ACCEPTED
    deps.store.rows.refunds[cmd.refund_id] = replace(
        refund_row(deps, cmd), external_id=provider_refund.external_id
    )
    deps.provider.refunds[provider_refund.id] = replace(
        provider_refund, status=RefundStatus.SUCCEEDED
    )
    payment_external_id = str(row(deps, paid).external_id)
    await notify(deps, payment_external_id, "refund.succeeded", provider_refund.id)
    assert refund_row(deps, cmd).status is RefundStatus.SUCCEEDED
    assert row(deps, paid).refunded_amount == Decimal("100.00")


async def test_a_refund_webhook_naming_another_payment_is_ignored_and_not_recorded() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    other = await paid_payment(deps)
    deps.provider.refund_status = RefundStatus.ACCEPTED
    cmd = new_refund(deps, paid, "100.00")
    await refund(deps, cmd)
    [provider_refund] = deps.provider.refunds.values()
    deps.store.rows.refunds[cmd.refund_id] = replace(
        refund_row(deps, cmd), external_id=provider_refund.external_id
    )
    deps.provider.refunds[provider_refund.id] = replace(
        provider_refund, status=RefundStatus.SUCCEEDED
    )
    other_external_id = str(row(deps, other).external_id)
    note = await notify(deps, other_external_id, "refund.succeeded", provider_refund.id)
    assert (webhooks.CONSUMER, note.message_id) not in deps.store.rows.inbox
    assert refund_row(deps, cmd).status is RefundStatus.ACCEPTED
    assert row(deps, paid).refunded_amount == row(deps, other).refunded_amount == Decimal(0)


async def test_a_late_success_cannot_revive_a_failed_refund() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    deps.provider.refund_status = RefundStatus.ACCEPTED
    cmd = new_refund(deps, paid, "100.00")
    await refund(deps, cmd)
    [provider_refund] = deps.provider.refunds.values()
    failed = replace(
        refund_row(deps, cmd), status=RefundStatus.FAILED, external_id=provider_refund.external_id
    )
    deps.store.rows.refunds[cmd.refund_id] = failed
    deps.provider.refunds[provider_refund.id] = replace(
        provider_refund, status=RefundStatus.SUCCEEDED
    )
    await notify(deps, str(row(deps, paid).external_id), "refund.succeeded", provider_refund.id)
    assert refund_row(deps, cmd).status is RefundStatus.FAILED
    assert row(deps, paid).refunded_amount == Decimal("0.00")


async def test_the_refund_guard_holds_against_a_stale_row() -> None:
    """Two writers loaded the refund `accepted`; one failed it: the other's success must
    match nothing (the SQL guard, built from the refund transitions table)."""
    deps = FakeDeps()
    paid = await paid_payment(deps)
    deps.provider.refund_status = RefundStatus.ACCEPTED
    cmd = new_refund(deps, paid, "100.00")
    await refund(deps, cmd)
    stale = refund_row(deps, cmd)
    [provider_refund] = deps.provider.refunds.values()
    deps.store.rows.refunds[cmd.refund_id] = replace(stale, status=RefundStatus.FAILED)
    succeeded = replace(provider_refund, status=RefundStatus.SUCCEEDED)
    async with deps.uow.transaction() as tx:
        assert not await apply.apply_refund(tx, stale, succeeded, topic="events")
    assert refund_row(deps, cmd).status is RefundStatus.FAILED
    assert row(deps, paid).refunded_amount == Decimal("0.00")


async def test_a_refund_webhook_that_beats_our_commit_is_applied_to_our_refund_once() -> None:
    """The provider made our refund (its description names our id) but our command has not
    stored its provider id yet: the notification finishes our row, it is not recorded as a
    refund made outside the pipeline (which would count the money twice)."""
    deps = FakeDeps()
    paid = await paid_payment(deps)
    cmd = new_refund(deps, paid, "100.00")
    payment_external_id = str(row(deps, paid).external_id)
    made = await deps.provider.create_refund(
        cmd.refund_id, payment_external_id, Decimal("100.00"), "RUB"
    )
    assert refund_row(deps, cmd).external_id is None
    await notify(deps, payment_external_id, "refund.succeeded", made.id)
    assert refund_row(deps, cmd).status is RefundStatus.SUCCEEDED
    assert refund_row(deps, cmd).external_id == made.external_id
    assert len(deps.store.rows.refunds) == 1
    assert row(deps, paid).refunded_amount == Decimal("100.00")


async def test_a_webhook_reads_once_before_the_provider_and_not_again_after() -> None:
    """The inbox check and the notified payment are one read; the row is not read again."""
    deps = FakeDeps()
    cmd, external_id = await pending(deps)
    deps.provider.settle(external_id, P.SUCCEEDED)
    deps.store.calls.clear()
    await notify(deps, external_id, "payment.succeeded")
    reads = [c for c in deps.store.calls if c in ("seen", "payment", "payment_unless_seen")]
    assert deps.store.calls[0] == "payment_by_external_unless_seen" and reads == []
    assert row(deps, cmd).status is P.SUCCEEDED


async def test_the_row_the_body_names_is_not_used_when_the_provider_names_another() -> None:
    """Our row holding the notified provider id is only where to look: when the provider's
    object names another payment of ours, that one is read and checked (a ledger anomaly)."""
    deps = FakeDeps()
    cmd_a, external_a = await pending(deps)
    cmd_b, _ = await pending(deps)
    obj = deps.provider.payments[external_a]
    deps.provider.payments[external_a] = replace(
        obj, status=P.SUCCEEDED, our_payment_id=cmd_b.payment_id
    )
    with pytest.raises(LedgerAnomaly, match="differs from ours"):
        await notify(deps, external_a, "payment.succeeded")
    assert "payment" in deps.store.calls
    assert row(deps, cmd_a).status is P.PENDING and row(deps, cmd_b).status is P.PENDING
