"""A refund sent at least once whose answer never came, near the end of YooKassa's 24 h memory
of an Idempotence-Key (processors/refund_lookup.py), in memory: past the re-send window it is
looked up with the list call, never sent blindly again; not at the provider once the key's
memory has passed, it ends `failed` (the SQL and the sandbox: tests/integration/processors/
test_refund_key_window.py)."""

from datetime import timedelta
from decimal import Decimal

from fakes import FakeDeps
from prometheus_client import REGISTRY
from world import new_refund, paid_payment, refund, refund_row, row

from domain.refunds import RefundStatus
from processors import give_up
from processors.errors import ProviderUnavailable

R = RefundStatus
HOUR = timedelta(hours=1)


def gave_up(reason: str) -> float:
    labels = {"kind": "refund", "reason": reason}
    return REGISTRY.get_sample_value("billing_gave_up_total", labels) or 0.0


async def sent_without_answer(deps: FakeDeps, fault: Exception | str) -> tuple[object, object]:
    paid = await paid_payment(deps)
    ask = new_refund(deps, paid, "100.00")
    deps.provider.faults.append(fault)
    await refund(deps, ask)
    sent = refund_row(deps, ask)
    assert (sent.status, sent.reserved, sent.external_id) == (R.ACCEPTED, True, None)
    return paid, ask


async def test_a_refund_the_provider_made_is_found_past_the_window_not_made_twice() -> None:
    """The first POST refunded and its answer was lost; a day later YooKassa has forgotten
    the key: a blind re-send (the old code) made a second refund of the same money."""
    deps = FakeDeps()
    paid, ask = await sent_without_answer(deps, "timeout_after_commit")
    deps.store.clock += 23.5 * HOUR
    deps.provider.forget_keys()
    await refund(deps, ask)  # the reconciler's re-drive
    external = str(row(deps, paid).external_id)
    made = [r for r in deps.provider.refunds.values() if r.payment_id == external]
    assert len(made) == 1
    done = refund_row(deps, ask)
    assert (done.status, done.external_id) == (R.SUCCEEDED, made[0].external_id)
    assert row(deps, paid).refunded_amount == Decimal("100.00")
    assert deps.provider.calls.count("create_refund") == 1
    assert deps.store.events(ask.refund_id) == ["RefundSucceeded"]


async def test_a_refund_found_on_a_later_page_is_adopted() -> None:
    """Newest first, a page at a time: other refunds of the payment come before ours."""
    deps = FakeDeps()
    paid, ask = await sent_without_answer(deps, "timeout_after_commit")
    for _ in range(3):  # made later (say, in the provider's dashboard), so listed first
        other = new_refund(deps, paid, "10.00")
        await refund(deps, other)
    deps.provider.list_page = 1
    deps.store.clock += 23.5 * HOUR
    await refund(deps, ask)
    assert refund_row(deps, ask).status is R.SUCCEEDED
    assert deps.provider.calls.count("list_refunds") == 4
    assert deps.provider.calls.count("create_refund") == 4  # ours once, the others once each


async def test_past_the_window_a_refund_not_at_the_provider_is_never_sent_again() -> None:
    """Its only POST failed before the provider did anything. Between the re-send window and
    the end of the key's memory a lookup that finds nothing only waits; after it, the refund
    ends failed as a give-up: reservation released, RefundFailed (the user is told), counted."""
    deps = FakeDeps()
    paid, ask = await sent_without_answer(deps, ProviderUnavailable("connection refused"))
    deps.store.clock += 23.5 * HOUR
    await refund(deps, ask)
    waiting = refund_row(deps, ask)
    assert (waiting.status, waiting.reserved) == (R.ACCEPTED, True)
    before = gave_up(give_up.NOT_AT_PROVIDER)
    deps.store.clock += HOUR
    await refund(deps, ask)
    ended = refund_row(deps, ask)
    assert (ended.status, ended.reserved) == (R.FAILED, False)
    assert deps.store.rows.refund_reason[ask.refund_id].startswith("gave_up: not_at_provider: ")
    assert deps.store.events(ask.refund_id) == ["RefundFailed"]
    assert gave_up(give_up.NOT_AT_PROVIDER) == before + 1
    assert deps.provider.calls.count("create_refund") == 1
    assert row(deps, paid).refunded_amount == Decimal("0.00")
    await refund(deps, ask)  # a late duplicate of the command: nothing more
    assert deps.provider.calls.count("create_refund") == 1


async def test_within_the_window_a_sent_refund_is_re_sent_under_its_key() -> None:
    deps = FakeDeps()
    _, ask = await sent_without_answer(deps, ProviderUnavailable("connection refused"))
    deps.store.clock += 22 * HOUR
    await refund(deps, ask)
    assert refund_row(deps, ask).status is R.SUCCEEDED
    assert deps.provider.calls.count("list_refunds") == 0


async def test_a_first_send_is_never_looked_up_whatever_the_age() -> None:
    """Never reserved, never sent: there is no key to outlive (the give-up of never-sent
    rows is another rule, give_up.NOT_SENT)."""
    deps = FakeDeps()
    paid = await paid_payment(deps)
    ask = new_refund(deps, paid, "100.00")
    deps.store.clock += 30 * HOUR
    await refund(deps, ask)
    assert refund_row(deps, ask).status is R.SUCCEEDED
    assert deps.provider.calls.count("list_refunds") == 0


async def test_a_lookup_the_provider_cannot_answer_changes_nothing() -> None:
    deps = FakeDeps()
    _, ask = await sent_without_answer(deps, ProviderUnavailable("connection refused"))
    deps.store.clock += 25 * HOUR
    deps.provider.faults.append(ProviderUnavailable("503"))
    await refund(deps, ask)
    kept = refund_row(deps, ask)
    assert (kept.status, kept.reserved) == (R.ACCEPTED, True)
    assert deps.provider.calls.count("create_refund") == 1


def test_the_decision() -> None:
    from processors import refund_lookup

    window = timedelta(hours=23)
    decide = refund_lookup.decide
    assert decide(sent_before=False, age=timedelta(hours=30), window=window) == "send"
    assert decide(sent_before=True, age=timedelta(hours=22), window=window) == "send"
    assert decide(sent_before=True, age=timedelta(hours=23), window=window) == "look_up"
    assert refund_lookup.may_give_up(timedelta(hours=23, minutes=59)) is False
    assert refund_lookup.may_give_up(timedelta(hours=24)) is True
