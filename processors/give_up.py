"""Rows that can never progress end `failed` with their reason and a metric, never a loop.

Without this, such a row is re-driven or re-read by the reconciler for good (processors/
README.md, "Failure analysis"). Each case fails the row with `gave_up: <why>: <detail>` as
its `failure_reason`, emits the usual PaymentFailed / RefundFailed event (a refund's
reservation is released), and counts `billing_gave_up_total{kind, reason}`, which
infra/prometheus/alerts.yml alerts on:

* `no_provider_id` — a refund of a payment that has no provider id: there is nothing to send
  it against (a succeeded payment always has one). Failed when its command is handled.
* `not_sent_in_time` — a payment or refund still `accepted` (the provider never gave us a
  readable answer) RECONCILE_GIVE_UP_AFTER_SECONDS after it was created. The default, 23 h,
  is under YooKassa's 24 h memory of an Idempotence-Key, so no re-drive after it could
  create a second object. The reconciler fails it. A refund only if it was never sent
  (`reserved = false`, `repository.UNSENT_REFUND`): a reserved one was sent at least once and
  the provider may have refunded it, so failing it (releasing its money) invites a second
  refund. That one is the next case's.
* `not_at_provider` — a refund sent at least once whose answer never came, past
  REFUND_RESEND_WINDOW_S: it is no longer re-sent under its key but looked up with the list
  call (processors/refund_lookup.py); not found there once YooKassa's 24 h memory of the key
  has passed since it was created, it was never made and never will be (nothing sends it
  again). Failed when its re-driven command is handled, only while the provider has still
  given it no id (`repository.UNANSWERED_REFUND`).

A row the provider holds (its provider id known) is never given up here: a refused re-read
(say, a deploy with another shop's credentials) says nothing about the money, so the
reconciler keeps re-reading it until the provider's own final answer.
"""

import logging

from common.metrics import GAVE_UP
from processors import apply
from processors.inbox import InboxEntry
from processors.ports import Deps
from processors.repository import PaymentRow, RefundRow

log = logging.getLogger(__name__)

NO_PROVIDER_ID = "no_provider_id"
NOT_SENT = "not_sent_in_time"
NOT_AT_PROVIDER = "not_at_provider"
_DETAIL = {
    NO_PROVIDER_ID: "the payment has no provider id, so the refund cannot be sent",
    NOT_SENT: "the provider gave no readable answer before the give-up age",
    NOT_AT_PROVIDER: "sent without an answer, and not in the provider's list of the payment's "
    "refunds after its Idempotence-Key expired; never sent again",
}


def reason(why: str, detail: str = "") -> str:
    return f"gave_up: {why}: {detail or _DETAIL[why]}"


async def refund_in_transaction(
    deps: Deps, refund: RefundRow, origin: InboxEntry | None, why: str, detail: str = ""
) -> bool:
    """Fail `refund` for good (and mark its command done); True if this call moved it.

    `not_sent_in_time` only moves a refund still never sent (`repository.UNSENT_REFUND`),
    `not_at_provider` one still without a provider id (`repository.UNANSWERED_REFUND`)."""
    async with deps.uow.transaction() as tx:
        moved = await apply.fail_refund(
            tx,
            refund,
            reason(why, detail),
            topic=deps.settings.events_topic,
            unsent_only=why == NOT_SENT,
            unanswered_only=why == NOT_AT_PROVIDER,
        )
        if origin is not None:
            await tx.record(origin)
    if moved:
        _count("refund", refund.id, why)
    return moved


async def payment_in_transaction(deps: Deps, row: PaymentRow, why: str, detail: str = "") -> bool:
    """Fail payment `row` for good; True if this call moved it: a compare-and-set on the
    predicate the give-up decided on (`repository.UNSENT_PAYMENT`), so a re-drive that just
    moved it to `pending` wins."""
    async with deps.uow.transaction() as tx:
        moved = await apply.fail_payment(
            tx, row, reason(why, detail), topic=deps.settings.events_topic, unsent_only=True
        )
    if moved is not None:
        _count("payment", row.id, why)
    return moved is not None


def _count(kind: str, row_id: object, why: str) -> None:
    GAVE_UP.labels(kind, why).inc()
    log.error("%s %s can never progress: failed (%s)", kind, row_id, why)
