"""The reconciler's re-read, in memory: the webhook that never arrives."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from fakes import FakeDeps
from world import create, new_payment, new_refund, paid_payment, put_row, refund, refund_row, row

from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors import reconciler
from processors.errors import ProviderRejected, ProviderUnavailable

P = PaymentStatus


async def test_a_payment_whose_webhooks_were_all_lost_still_finishes() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    await create(deps, cmd)
    deps.provider.settle(str(row(deps, cmd).external_id), P.SUCCEEDED)
    await reconciler.recheck(deps, cmd.payment_id)
    assert row(deps, cmd).status is P.SUCCEEDED
    assert deps.store.events() == ["PaymentPending", "PaymentSucceeded"]
    assert deps.store.rows.next_check[cmd.payment_id] is None  # final: no more checks


async def test_a_re_read_that_fails_changes_nothing_and_is_tried_at_the_next_check() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    await create(deps, cmd)
    deps.provider.faults.append(ProviderUnavailable("503"))
    await reconciler.recheck(deps, cmd.payment_id)
    assert row(deps, cmd).status is P.PENDING and deps.store.events() == ["PaymentPending"]


async def test_a_re_read_of_a_still_pending_payment_emits_nothing() -> None:
    deps = FakeDeps()
    cmd = new_payment(deps)
    await create(deps, cmd)
    await reconciler.recheck(deps, cmd.payment_id)
    assert deps.store.events() == ["PaymentPending"]
    assert (
        deps.store.calls.count("move_payment") == 1
    )  # the table says pending → pending is no move


async def test_a_provider_object_naming_another_payment_of_ours_is_not_applied() -> None:
    """Our external_id leads to a provider payment whose metadata names another payment."""
    deps = FakeDeps()
    mine, theirs = new_payment(deps), new_payment(deps)
    await create(deps, mine)
    external_id = str(row(deps, mine).external_id)
    obj = deps.provider.payments[external_id]
    deps.provider.payments[external_id] = replace(
        obj, status=P.SUCCEEDED, our_payment_id=theirs.payment_id
    )
    await reconciler.recheck(deps, mine.payment_id)  # counted and logged, never raised:
    assert row(deps, mine).status is P.PENDING  # one such row must not stop the pass
    assert deps.store.events() == ["PaymentPending"]


async def test_an_old_pending_payment_whose_re_read_is_refused_is_never_failed() -> None:
    """Paid at the provider, re-read with another shop's credentials (a 403): failing it
    would leave a charged card holder without access. It stays pending, re-read later."""
    deps = FakeDeps()
    cmd = new_payment(deps)
    await create(deps, cmd)
    put_row(deps, row(deps, cmd), created_at=datetime.now(UTC) - timedelta(days=2))
    deps.provider.faults.append(ProviderRejected("forbidden", status_code=403))
    await reconciler.recheck(deps, cmd.payment_id)
    assert row(deps, cmd).status is P.PENDING and deps.store.events() == ["PaymentPending"]


async def test_an_old_pending_refund_whose_re_read_is_refused_is_never_failed() -> None:
    """The provider holds it: releasing its reservation would invite a second refund."""
    deps = FakeDeps()
    deps.provider.refund_status = RefundStatus.ACCEPTED  # the provider's `pending`
    paid = await paid_payment(deps)
    ask = new_refund(deps, paid, "100.00")
    await refund(deps, ask)
    held = refund_row(deps, ask)
    assert held.external_id is not None and held.reserved
    deps.store.rows.refunds[ask.refund_id] = replace(
        held, created_at=datetime.now(UTC) - timedelta(days=2)
    )
    deps.provider.faults.append(ProviderRejected("forbidden", status_code=403))
    await reconciler.recheck_refund(deps, ask.refund_id)
    after = refund_row(deps, ask)
    assert (after.status, after.reserved) == (RefundStatus.ACCEPTED, True)
    assert "RefundFailed" not in deps.store.events(ask.refund_id)
