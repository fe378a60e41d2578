"""The reconciler's re-read, in memory: the webhook that never arrives."""

from dataclasses import replace

from fakes import FakeDeps
from world import create, new_payment, row

from domain.payments import PaymentStatus
from processors import reconciler
from processors.errors import ProviderUnavailable

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
    await reconciler.recheck(deps, mine.payment_id)
    assert row(deps, mine).status is P.PENDING
    assert deps.store.events() == ["PaymentPending"]
