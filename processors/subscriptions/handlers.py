"""The scheduler's and operators' subscription commands (renewal itself: `renewals`).

Each runs under the user's lock in one transaction: re-check the subscription as it is now
(a command planned for a state that has moved on does nothing), apply the domain rule,
save, plan the next due work, queue the events, record the inbox row.
"""

import logging
from datetime import datetime, timedelta

import asyncpg

from common import outbox
from domain.subscriptions import (
    InvalidSubscriptionChange,
    Subscription,
    SubscriptionStatus,
    cancel,
    end_if_due,
    extend,
    forget_card,
    renewal_due_at,
    resume,
)
from processors import inbox
from processors.inbox import InboxEntry
from processors.runtime import Context
from processors.subscriptions import events
from processors.subscriptions import repository as repo
from processors.subscriptions.renewals import renew
from processors.subscriptions.repository import SubscriptionRow
from processors.subscriptions.schedule import plan_next
from schemas.messages import (
    ChangeSubscription,
    Envelope,
    ExpireSubscription,
    RemindRenewal,
    RenewSubscription,
)

log = logging.getLogger(__name__)
COMMANDS = (RenewSubscription, ExpireSubscription, RemindRenewal, ChangeSubscription)
SubscriptionCommand = RenewSubscription | ExpireSubscription | RemindRenewal | ChangeSubscription


async def handle(cmd: SubscriptionCommand, origin: InboxEntry, ctx: Context) -> None:
    if isinstance(cmd, RenewSubscription):
        await renew(cmd, origin, ctx)
        return
    if await inbox.seen(ctx.pool, origin.consumer, cmd.message_id):
        return
    async with ctx.pool.acquire() as conn, conn.transaction():
        await repo.lock_user(conn, cmd.user_id)
        sub = await repo.load(conn, cmd.user_id)
        if sub is not None and sub.id == cmd.subscription_id:
            await _act(conn, cmd, sub, ctx)
        await inbox.record(conn, origin)


async def _act(
    conn: asyncpg.Connection, cmd: SubscriptionCommand, sub: SubscriptionRow, ctx: Context
) -> None:
    topic = ctx.settings.events_topic
    if isinstance(cmd, ExpireSubscription):
        await expire(conn, sub, topic)
    elif isinstance(cmd, RemindRenewal):
        await remind(conn, sub, cmd, topic)
    elif isinstance(cmd, ChangeSubscription):
        await change(conn, sub, cmd, topic)


async def expire(conn: asyncpg.Connection, sub: SubscriptionRow, topic: str) -> None:
    """End the subscription if its paid time (and grace) is over; otherwise nothing."""
    at = await repo.now(conn)
    ended = end_if_due(sub.state, at)
    if ended is None:
        return
    row = await _save(conn, sub, ended)
    reason = _why_ended(sub.state)
    await _announce(conn, topic, events.expired(row, reason, at))


def _why_ended(before: Subscription) -> str:
    if before.cancel_at_period_end:
        return "canceled"
    if before.status is SubscriptionStatus.PAST_DUE:
        return f"payment failed: {before.last_error or 'declined'}"
    return "not renewed"


async def remind(
    conn: asyncpg.Connection, sub: SubscriptionRow, cmd: RemindRenewal, topic: str
) -> None:
    if not (sub.state.renews and sub.state.status is SubscriptionStatus.ACTIVE):
        return
    if sub.periods + 1 != cmd.period_number:
        return
    plan = await repo.load_plan(conn, sub.plan_id)
    if plan is None:
        return
    charge_at = renewal_due_at(sub.state, plan.terms)
    event = events.upcoming(sub, cmd.period_number, charge_at, plan.amount, plan.currency)
    await _announce(conn, topic, event)


async def change(
    conn: asyncpg.Connection,
    sub: SubscriptionRow,
    cmd: ChangeSubscription,
    topic: str,
    *,
    strict: bool = False,
) -> None:
    """Apply an operator's or user's change; `strict` raises a refused one to the caller."""
    try:
        state = apply_change(sub.state, cmd, await repo.now(conn))
    except InvalidSubscriptionChange as exc:
        if strict:
            raise
        log.warning("subscription %s: %s refused: %s", sub.id, cmd.action, exc)
        return
    if state == sub.state:
        return
    row = await _save(conn, sub, state)
    cause = f"{cmd.requested_by}:{cmd.request_id}"
    if cmd.action == "cancel":
        event: Envelope = events.canceled(row, at_period_end=True, reason=cmd.action, cause=cause)
    elif cmd.action == "resume":
        event = events.resumed(row, cause)
    else:
        event = events.changed(row, cmd.action, cause)
    await _announce(conn, topic, event)


def apply_change(state: Subscription, cmd: ChangeSubscription, at: datetime) -> Subscription:
    if cmd.action == "cancel":
        return cancel(state)
    if cmd.action == "resume":
        return resume(state, at)
    if cmd.action == "forget_card":
        return forget_card(state)
    return extend(state, timedelta(days=cmd.days))


async def _save(
    conn: asyncpg.Connection, sub: SubscriptionRow, state: Subscription
) -> SubscriptionRow:
    row = await repo.save(conn, sub.user_id, sub.plan_id, state, periods=sub.periods, card=sub.card)
    plan = await repo.load_plan(conn, row.plan_id)
    if plan is not None:
        await plan_next(conn, row, plan.terms)
    return row


async def _announce(conn: asyncpg.Connection, topic: str, event: Envelope) -> None:
    await outbox.append(conn, event, topic=topic, key=str(getattr(event, "user_id")))  # noqa: B009
