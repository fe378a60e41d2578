"""CreatePayment through the handler, in memory: one test per row of the failure analysis
in processors/README.md that concerns a command (the whole table is mapped in the README)."""

from dataclasses import replace
from decimal import Decimal

import pytest
from fakes import Crash, FakeDeps
from world import create, new_payment, origin, put_row, row

from domain.payments import PaymentStatus
from processors import apply, handlers
from processors.errors import (
    LedgerAnomaly,
    ProviderAnswerInvalid,
    ProviderRejected,
    ProviderUnavailable,
)

P = PaymentStatus


async def test_a_command_moves_the_row_to_pending_with_its_event_and_inbox_row() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    await create(deps, cmd)
    done = row(deps, cmd)
    assert done.status is P.PENDING and done.confirmation_url
    assert deps.store.events() == ["PaymentPending"]
    assert (handlers.CONSUMER, cmd.message_id) in deps.store.rows.inbox
    assert deps.store.rows.next_check[cmd.payment_id] == 30.0  # re-read if no webhook comes


async def test_crash_after_consuming_before_the_provider_call_is_handled_from_scratch() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    deps.store.faults["payment_unless_seen"] = Crash("died after poll")
    with pytest.raises(Crash):
        await create(deps, cmd)
    assert deps.provider.calls == [] and row(deps, cmd).status is P.ACCEPTED
    await create(deps, cmd)  # redelivered: the offset was never committed
    assert row(deps, cmd).status is P.PENDING
    assert deps.store.events() == ["PaymentPending"]


async def test_crash_during_the_provider_call_charges_once_on_redelivery() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    deps.provider.faults.append("after")  # the provider did it, we never heard
    with pytest.raises(Crash):
        await create(deps, cmd)
    assert row(deps, cmd).status is P.ACCEPTED and deps.store.rows.inbox == set()
    await create(deps, cmd)
    assert len(deps.provider.created(cmd.payment_id)) == 1
    assert row(deps, cmd).external_id == deps.provider.created(cmd.payment_id)[0].external_id
    assert deps.store.events() == ["PaymentPending"]


async def test_provider_answered_but_no_commit_applies_the_same_object_once() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    deps.uow.crashes = [True]
    with pytest.raises(Crash):
        await create(deps, cmd)
    assert row(deps, cmd).status is P.ACCEPTED  # rolled back: row, outbox and inbox
    assert deps.store.events() == [] and deps.store.rows.inbox == set()
    await create(deps, cmd)
    assert len(deps.provider.created(cmd.payment_id)) == 1
    assert deps.store.events() == ["PaymentPending"]


async def test_committed_but_offset_not_committed_is_skipped_by_the_inbox() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    where = origin(handlers.CONSUMER, cmd)
    await handlers.create_payment(cmd, where, deps)
    writes_before = [c for c in deps.store.calls if c in ("record", "move_payment", "append")]
    await handlers.create_payment(cmd, where, deps)  # the same record, redelivered
    writes_after = [c for c in deps.store.calls if c in ("record", "move_payment", "append")]
    assert writes_after == writes_before  # nothing written, not even the inbox row
    assert deps.provider.calls == ["create_payment"]


async def test_a_stale_row_cannot_move_twice_the_guarded_update_matches_nothing() -> None:
    """Two writers loaded the row `accepted`; the second one's update must match nothing."""
    deps = FakeDeps()
    cmd = new_payment(deps)
    stale = row(deps, cmd)
    await create(deps, cmd)
    obj = deps.provider.created(cmd.payment_id)[0]
    async with deps.uow.transaction() as tx:
        moved = await apply.apply_payment(tx, stale, obj, topic="events", recheck_after_s=30.0)
    assert moved is None
    assert deps.store.events() == ["PaymentPending"]


@pytest.mark.parametrize("fault", ["timeout_after_commit", ProviderUnavailable("503")])
async def test_provider_unavailable_leaves_the_row_accepted_for_the_reconciler(
    fault: object,
) -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    deps.provider.faults.append(fault)  # type: ignore[arg-type]
    await create(deps, cmd)
    assert row(deps, cmd).status is P.ACCEPTED
    assert deps.store.events() == [] and deps.store.rows.inbox == set()
    await create(deps, cmd)  # the reconciler's re-drive: same ids, same key
    assert row(deps, cmd).status is P.PENDING
    assert len(deps.provider.created(cmd.payment_id)) == 1


async def test_a_redrive_sends_the_provider_the_body_built_from_the_row() -> None:
    """The first attempt reached the provider and died; the re-drive carries no description,
    yet the provider must see the same body or it refuses the reused key."""
    deps = FakeDeps()
    cmd = new_payment(deps)
    deps.provider.faults.append("after")
    with pytest.raises(Crash):
        await create(deps, cmd)
    redrive = cmd.model_copy(update={"description": "", "return_url": "https://other"})
    await create(deps, redrive)
    assert row(deps, cmd).status is P.PENDING
    assert len(deps.provider.created(cmd.payment_id)) == 1


async def test_provider_4xx_fails_the_payment_with_its_event_in_one_transaction() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    deps.provider.faults.append(ProviderRejected("bad amount", code="invalid_request"))
    await create(deps, cmd)
    failed = row(deps, cmd)
    assert failed.status is P.FAILED
    assert failed.failure_reason == "provider_rejected: bad amount"
    assert deps.store.events() == ["PaymentFailed"]
    assert (handlers.CONSUMER, cmd.message_id) in deps.store.rows.inbox
    assert deps.uow.commits == 1


async def test_a_command_for_a_row_already_moved_only_records_its_inbox_row() -> None:
    """The webhook got there first (row `succeeded`): the late command asks nobody."""
    deps = FakeDeps()
    cmd = new_payment(deps)
    put_row(deps, row(deps, cmd), status=P.SUCCEEDED)
    await create(deps, cmd)
    assert deps.provider.calls == [] and deps.store.events() == []
    assert (handlers.CONSUMER, cmd.message_id) in deps.store.rows.inbox


async def test_no_row_at_all_is_retried_then_left_without_a_trace() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    del deps.store.rows.payments[cmd.payment_id]
    await create(deps, cmd)
    assert deps.store.calls.count("payment") == deps.settings.webhook_row_attempts
    assert deps.provider.calls == [] and deps.store.rows.inbox == set()


async def test_postgresql_down_fails_the_handler_so_the_lane_retries_it() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    deps.store.faults["move_payment"] = ConnectionRefusedError("PostgreSQL is down")
    with pytest.raises(ConnectionRefusedError):
        await create(deps, cmd)
    assert row(deps, cmd).status is P.ACCEPTED and deps.store.rows.inbox == set()
    await create(deps, cmd)
    assert row(deps, cmd).status is P.PENDING
    assert len(deps.provider.created(cmd.payment_id)) == 1


async def test_an_unreadable_provider_answer_surfaces_instead_of_being_applied() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    deps.provider.faults.append(ProviderAnswerInvalid("unknown provider payment status"))
    with pytest.raises(ProviderAnswerInvalid):
        await create(deps, cmd)
    assert row(deps, cmd).status is P.ACCEPTED and deps.store.events() == []


async def test_an_answer_that_cannot_be_applied_is_not_marked_done() -> None:
    """Issue 10.1: an anomaly (here the provider's amount is not ours) changes nothing, so
    the command must stay re-drivable, not be recorded in the inbox as handled."""
    deps = FakeDeps()
    cmd = new_payment(deps)
    made = await deps.provider.create_payment(
        cmd.payment_id,
        cmd.user_id,
        cmd.amount,
        "RUB",
        cmd.return_url,
        handlers.payment_description(row(deps, cmd)),
    )
    deps.provider.payments[made.id] = replace(made, amount=Decimal("1.00"))
    with pytest.raises(LedgerAnomaly):  # the lane dead-letters it with the reason
        await create(deps, cmd)
    assert row(deps, cmd).status is PaymentStatus.ACCEPTED
    assert (handlers.CONSUMER, cmd.message_id) not in deps.store.rows.inbox
    assert deps.store.events() == []
