"""`python -m processors.webhooks`: provider notifications → re-read from the provider → apply.

The notification body is never trusted: it only says which provider object to re-read, and
where to look for our row — the inbox check and the payment holding the notified provider id
are one read before the provider's, and that row is used only when the provider's object
names it too (else the payment the object names is read). A
provider 404 means a forged or foreign notification (nothing changed). Our row not being
there yet (the webhook beat the command) is retried in the lane with backoff; after the last
try it is left to the reconciler. The inbox dedupes on what was applied, not on what was
claimed: a notification is recorded only when it moved a row, so one that changed nothing
(forged, early, or about a status we already have) cannot suppress a later genuine one
carrying the same message_id. A `refund.succeeded` for a refund we did not start (made in the
provider's dashboard) is recorded against its payment and applied like ours
(processors/external_refunds.py).
"""

import asyncio
import logging

from common import logs
from common.runloop import KeyedRunLoop
from domain.refunds import RefundStatus
from processors import apply
from processors.errors import ProviderNotFound
from processors.handlers import eventually
from processors.inbox import InboxEntry, Origin
from processors.ports import Deps
from processors.provider.objects import ProviderRefund
from processors.repository import PaymentRow
from processors.runtime import Context, MessageHandler, keyed_loop, main, run_loop
from processors.settings import ProcessorSettings
from schemas.messages import Envelope, ProviderNotification

log = logging.getLogger(__name__)
CONSUMER = "processor-webhooks"


async def handle_notification(note: ProviderNotification, origin: InboxEntry, ctx: Deps) -> None:
    seen, named = await ctx.uow.reads.payment_by_external_unless_seen(
        note.payment_external_id, CONSUMER, note.message_id
    )
    if seen:
        return
    try:
        obj = await ctx.provider.get_payment(note.payment_external_id)
        refund_obj = await _refund_of(note, ctx)
    except ProviderNotFound:
        log.warning("notification %s names an unknown provider object: ignored", note.message_id)
        return
    payment_id = obj.our_payment_id
    if payment_id is None:
        log.warning("provider payment %s is not one of ours: ignored", obj.id)
        return
    logs.bind(payment_id=payment_id, external_id=note.payment_external_id)
    row = named if named is not None and named.id == payment_id else None
    if row is None:  # the body named none of ours, or another: the provider's object decides
        row = await eventually(lambda: ctx.uow.reads.payment(payment_id), ctx)
    if row is None:
        log.warning("payment %s not recorded yet; left to the reconciler", payment_id)
        return
    if refund_obj is None:
        await apply.apply_payment_in_transaction(ctx, row, obj, origin)
    else:
        await _apply_refund(ctx, row, refund_obj, origin)


async def _refund_of(note: ProviderNotification, ctx: Deps) -> ProviderRefund | None:
    if not note.event.startswith("refund."):
        return None
    refund = await ctx.provider.get_refund(note.object_id)
    if refund.payment_id != note.payment_external_id:
        raise ProviderNotFound("refund does not belong to the notified payment")
    return refund


async def _apply_refund(
    ctx: Deps, row: PaymentRow, obj: ProviderRefund, origin: InboxEntry
) -> None:
    external_id = obj.external_id
    if external_id is None or row.external_id is None:
        log.error("refund notification %s: no provider id to match %s by", obj.id, row.id)
        return
    if str(row.external_id) != obj.payment_id:  # a second provider payment naming ours
        what = f"provider refund {obj.id} is of {obj.payment_id}, ours is {row.external_id}"
        raise apply.contradiction("refund", f"payment {row.id}: {what}")
    refund = await ctx.uow.reads.refund_by_external_id(external_id)
    ours = obj.our_refund_id
    if refund is None and ours is not None:  # ours, its provider id not stored yet
        refund = await eventually(lambda: ctx.uow.reads.refund(ours), ctx)
    async with ctx.uow.transaction() as tx:
        if refund is None and ours is None and obj.status is RefundStatus.SUCCEEDED:
            policy = ctx.settings.refund_policy()
            refund = await tx.record_external_refund(row.id, obj, policy)
        if refund is None:
            log.warning("refund %s: nothing of ours to apply it to", external_id)
            return
        if await apply.apply_refund(tx, refund, obj, topic=ctx.settings.events_topic):
            await tx.record(origin)


def make_handler(ctx: Context) -> MessageHandler:
    async def handle(note: Envelope, where: Origin) -> None:
        if not isinstance(note, ProviderNotification):
            log.warning("ignoring %s on the webhooks topic", note.type)
            return
        origin = InboxEntry(CONSUMER, note.message_id, note.type, where)
        await handle_notification(note, origin, ctx)

    return handle


def build_loop(ctx: Context) -> KeyedRunLoop:
    settings = ctx.settings
    return keyed_loop(
        ctx, CONSUMER, settings.webhooks_group, settings.webhooks_topic, make_handler(ctx)
    )


async def run(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    await run_loop(settings, stop, build_loop)


if __name__ == "__main__":
    main(CONSUMER, run)
