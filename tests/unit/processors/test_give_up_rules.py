"""The give-up (processors/give_up.py), in memory: what may end `failed` for good, and what
must not (the SQL side of the same predicates: tests/integration/processors/test_give_up.py)."""

import uuid
from dataclasses import replace

from fakes import FakeDeps
from world import new_payment, new_refund, paid_payment, put_row, refund, refund_row, row

from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors import give_up
from processors.errors import ProviderUnavailable

R = RefundStatus


async def test_a_reserved_refund_without_an_answer_is_never_given_up_as_not_sent() -> None:
    """It was sent (the answer is lost): the provider may have refunded it, so releasing its
    reservation would let an operator refund the same money again."""
    deps = FakeDeps()
    paid = await paid_payment(deps)
    ask = new_refund(deps, paid, "100.00")
    deps.provider.faults.append(ProviderUnavailable("timeout after sending"))
    await refund(deps, ask)
    sent = refund_row(deps, ask)
    assert (sent.status, sent.reserved, sent.external_id) == (R.ACCEPTED, True, None)
    assert not await give_up.refund_in_transaction(deps, sent, None, give_up.NOT_SENT)
    assert (refund_row(deps, ask).status, refund_row(deps, ask).reserved) == (R.ACCEPTED, True)
    assert "RefundFailed" not in deps.store.events(ask.refund_id)


async def test_a_refund_never_sent_is_given_up_as_not_sent() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    ask = new_refund(deps, paid, "100.00")  # its command never arrived: not reserved
    assert await give_up.refund_in_transaction(deps, refund_row(deps, ask), None, give_up.NOT_SENT)
    assert refund_row(deps, ask).status is R.FAILED
    assert deps.store.events(ask.refund_id) == ["RefundFailed"]


async def test_a_payment_a_re_drive_just_moved_to_pending_is_not_given_up() -> None:
    """The give-up chose it `accepted` without a provider id; the re-drive's answer landed
    before its UPDATE: the compare-and-set on that predicate lets the re-drive win."""
    deps = FakeDeps()
    cmd = new_payment(deps)
    chosen = row(deps, cmd)
    put_row(deps, chosen, status=PaymentStatus.PENDING, external_id=uuid.uuid4())
    assert not await give_up.payment_in_transaction(deps, chosen, give_up.NOT_SENT)
    assert row(deps, cmd).status is PaymentStatus.PENDING
    assert deps.store.events(cmd.payment_id) == []


async def test_a_refund_that_just_got_its_provider_id_is_not_given_up() -> None:
    deps = FakeDeps()
    paid = await paid_payment(deps)
    ask = new_refund(deps, paid, "100.00")
    chosen = refund_row(deps, ask)  # never sent: the give-up picks it
    deps.store.rows.refunds[ask.refund_id] = replace(chosen, external_id=uuid.uuid4())
    assert not await give_up.refund_in_transaction(deps, chosen, None, give_up.NOT_SENT)
    assert refund_row(deps, ask).status is R.ACCEPTED
    assert "RefundFailed" not in deps.store.events(ask.refund_id)
