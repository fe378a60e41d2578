"""The give-up (processors/give_up.py), in memory: what may end `failed` for good, and what
must not (the SQL side of the same predicates: tests/integration/processors/test_give_up.py)."""

from fakes import FakeDeps
from world import new_refund, paid_payment, refund, refund_row

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
