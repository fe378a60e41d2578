"""A refund sent without an answer is never re-sent blindly once its Idempotence-Key may be
forgotten: it is looked up with the provider's list call instead.

YooKassa (and the sandbox) remember an Idempotence-Key for 24 h; a POST with a forgotten key
makes a new object, so re-sending a refund whose first POST did refund (its answer lost)
would refund the same money twice. A refund that was sent at least once (`reserved`) and has
no provider id yet is therefore re-sent under its key only while it is younger than
REFUND_RESEND_WINDOW_S (23 h; `created_at` stands for the first send, which is never earlier,
so the window can only end early). After that, each re-drive of its command
(the reconciler's, on its capped backoff) asks `GET /v3/refunds?payment_id=…` page by page
for the refund whose description names ours (`provider/descriptions.py`):

* found: its provider id is adopted and its status applied like any answer (succeeded →
  the ledger; pending → the re-reads by id take over; canceled → failed, money released);
* not found while younger than the key's memory (24 h): nothing is done, the next re-drive
  looks again — at least an hour after the last blind send, so a POST still in flight has
  landed;
* not found after it: the provider never made it, and nothing will send it again: it ends as
  a give-up (`gave_up: not_at_provider: …`, processors/give_up.py): failed, reservation
  released, RefundFailed (the user is told as for any failed refund), `billing_gave_up_total`.

A lookup the provider cannot answer now (5xx, timeout) waits for the next re-drive; one it
refuses (a 4xx) or answers unreadably is dead-lettered with the reason like any such call
(processors/runtime.py `PERMANENT`); neither sends anything.

A refund never sent (not reserved) has no key to outlive: its first send is not delayed here
(its own give-up is `not_sent_in_time`). Every send of a refund happens in the commands
processor, in its user's lane, one at a time, so no send races this lookup.
"""

import logging
from datetime import timedelta
from typing import Literal
from uuid import UUID

from processors import apply, give_up
from processors.errors import ProviderUnavailable
from processors.inbox import InboxEntry
from processors.ports import Deps, Provider
from processors.provider.objects import ProviderRefund
from processors.repository import PaymentRow, RefundRow

log = logging.getLogger(__name__)

# How long YooKassa (and the sandbox, sandbox/provider/store.py) remember an Idempotence-Key.
KEY_MEMORY = timedelta(hours=24)
Decision = Literal["send", "look_up"]


def decide(*, sent_before: bool, age: timedelta, window: timedelta) -> Decision:
    """Send under the refund's key, or look it up first: the latter once it was sent before
    and is `window` old."""
    return "look_up" if sent_before and age >= window else "send"


def may_give_up(age: timedelta) -> bool:
    """Whether a refund the lookup did not find can be ended: only once the key's memory has
    passed since it was created (its last blind send is then at least KEY_MEMORY −
    REFUND_RESEND_WINDOW_S old: an hour by default)."""
    return age >= KEY_MEMORY


async def find(
    provider: Provider, payment_external_id: str, refund_id: UUID
) -> ProviderRefund | None:
    """Our refund `refund_id` among the provider's refunds of the payment, or None."""
    cursor: str | None = None
    while True:
        items, cursor = await provider.list_refunds(payment_external_id, cursor)
        for item in items:
            if item.our_refund_id == refund_id:
                return item
        if not cursor:
            return None


async def looked_up(deps: Deps, refund: RefundRow, payment: PaymentRow, origin: InboxEntry) -> bool:
    """For a refund sent before: True if it must not be sent now (it was looked up instead,
    and settled as far as the lookup allows); False if it may be sent under its key."""
    now = await deps.uow.reads.now()
    age = timedelta(0) if refund.created_at is None else now - refund.created_at
    window = timedelta(seconds=deps.settings.refund_resend_window_s)
    if decide(sent_before=True, age=age, window=window) == "send":
        return False
    try:
        found = await find(deps.provider, str(payment.external_id), refund.id)
    except ProviderUnavailable as exc:
        log.warning("refund %s: lookup failed (%s); the reconciler re-drives it", refund.id, exc)
        return True
    if found is not None:
        await _adopt(deps, refund, found, origin)
    elif may_give_up(age):
        await give_up.refund_in_transaction(deps, refund, origin, give_up.NOT_AT_PROVIDER)
    else:
        log.warning("refund %s: not at the provider yet; looked up again later", refund.id)
    return True


async def _adopt(deps: Deps, refund: RefundRow, obj: ProviderRefund, origin: InboxEntry) -> None:
    log.warning("refund %s: found at the provider as %s (%s)", refund.id, obj.id, obj.status)
    async with deps.uow.transaction() as tx:
        if await apply.apply_refund(tx, refund, obj, topic=deps.settings.events_topic):
            await tx.record(origin)  # a pending one is not done: its re-reads finish it
