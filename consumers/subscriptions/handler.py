"""Keep Auth's subscriber role and the subscribers row equal to what the payments say.

Order per event: inbox check and the target from PostgreSQL (the truth), one statement → if
it differs from the row, call Auth (idempotent) → one transaction: BEGIN and lock the user
(one round trip), re-check the inbox and the target (one statement), then the upsert of the
row, the announcement (outbox) and the inbox row (one statement), COMMIT. An event the rule
does not read has no effect: its inbox row is left to the run loop's bulk write before the
offset commit (`PendingInbox`). If the truth
moved between the Auth call and the commit, the row records what Auth was told and
`StateChanged` makes the delivery loop run the whole thing again, which tells Auth the
new truth. A replay finds every row already equal: no Auth call.
"""

from dataclasses import dataclass
from typing import TypeAlias
from uuid import UUID

import asyncpg

from common.inbox import Checked, PendingInbox
from consumers import inbox
from consumers.delivery import Handler
from consumers.errors import StateChanged
from consumers.inbox import Origin
from consumers.outbound import Outbound
from consumers.settings import ConsumerSettings
from consumers.subscriptions import repository as repo
from consumers.subscriptions.access import Patience, until_done
from consumers.subscriptions.auth import AuthClient
from consumers.subscriptions.state import Subscription, desired, needs_change
from schemas import ids
from schemas.messages import (
    Envelope,
    PaymentSucceeded,
    RefundSucceeded,
    SubscriptionActivated,
    SubscriptionCanceled,
    SubscriptionChanged,
    SubscriptionExpired,
    SubscriptionPastDue,
    SubscriptionRenewed,
    SubscriptionResumed,
    SubscriptionRevoked,
)

CONSUMER = "consumer-subscriptions"
GROUP = "billing-consumer-subscriptions"
RELEVANT = (
    PaymentSucceeded,
    RefundSucceeded,
    SubscriptionRenewed,
    SubscriptionPastDue,
    SubscriptionExpired,
    SubscriptionCanceled,
    SubscriptionResumed,
    SubscriptionChanged,
)
Relevant = (
    PaymentSucceeded
    | RefundSucceeded
    | SubscriptionRenewed
    | SubscriptionPastDue
    | SubscriptionExpired
    | SubscriptionCanceled
    | SubscriptionResumed
    | SubscriptionChanged
)

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def target_and_current(conn: Conn, user_id: UUID) -> tuple[Subscription, Subscription | None]:
    _, target, current = await seen_target_and_current(conn, user_id)
    return target, current


async def seen_target_and_current(
    conn: Conn, user_id: UUID, message_id: UUID | None = None
) -> tuple[bool, Subscription, Subscription | None]:
    """Whether this consumer handled `message_id`, the target and the row: one statement."""
    found = await repo.look(conn, user_id, CONSUMER, message_id)
    return found.seen, desired(found.entitlement, found.current), found.current


@dataclass(frozen=True)
class SubscriptionHandler:
    pool: asyncpg.Pool
    auth: AuthClient
    events_topic: str
    pending: PendingInbox
    patience: Patience = Patience()

    async def __call__(self, event: Envelope, origin: Origin) -> None:
        if not isinstance(event, RELEVANT):
            inbox.add(self.pending, event, origin)  # no effect: the row is all it does
            return
        seen, target, current = await seen_target_and_current(
            self.pool, event.user_id, event.message_id
        )
        if seen:
            return
        told = target if needs_change(target, current) else None
        if told is not None:
            await self._tell_auth(event.user_id, told)
        if not await self._commit(event, origin, told):
            raise StateChanged(f"user {event.user_id}: payments changed during delivery")

    async def _tell_auth(self, user_id: UUID, target: Subscription) -> None:
        """Transient Auth failures are waited out here, never dead-lettered (`access`)."""
        call = self.auth.grant if target.active else self.auth.revoke
        await until_done(lambda: call(user_id), f"user {user_id}", self.patience)

    async def _commit(self, event: Relevant, origin: Origin, told: Subscription | None) -> bool:
        """One transaction under the user's lock; False when the delivery must run again.

        `told` is what Auth was just told (None: Auth was not called). If the payments moved
        on meanwhile, the row is made to say what Auth now holds — never left saying what it
        said before — so the next run sees the difference and tells Auth again. Returning
        early there instead would leave Auth granting a subscription nobody paid for.
        """
        async with repo.locked(self.pool, event.user_id) as conn:
            seen, target, current = await seen_target_and_current(
                conn, event.user_id, event.message_id
            )
            if seen:
                return True  # another delivery of the same message got here first
            if told is not None and target.active != told.active:
                await repo.save(conn, event.user_id, told)
                return False
            if not needs_change(target, current):
                await inbox.record(conn, CONSUMER, event, origin)
                return True
            if told is None:
                return False  # changed since we looked, and Auth was not told: look again
            news = (self.events_topic, announcement(event, target))
            await repo.settle(conn, target, news, (CONSUMER, inbox.row(event, origin)))
            return True


def announcement(
    source: Relevant, target: Subscription
) -> SubscriptionActivated | SubscriptionRevoked:
    if target.active and target.plan_id and target.payment_id and target.expires_at:
        return SubscriptionActivated(
            message_id=ids.message_id("SubscriptionActivated", source.message_id),
            user_id=source.user_id,
            plan_id=target.plan_id,
            payment_id=target.payment_id,
            expires_at=target.expires_at,
        )
    return SubscriptionRevoked(
        message_id=ids.message_id("SubscriptionRevoked", source.message_id),
        user_id=source.user_id,
        payment_id=getattr(source, "payment_id", None),
        reason="the subscription is no longer active",
    )


def build(
    settings: ConsumerSettings,
    pool: asyncpg.Pool,
    client: Outbound,
    pending: PendingInbox,
    checked: Checked,
) -> Handler:
    """`checked` is not used: the first look reads the truth as well as the inbox."""
    token = settings.auth_service_token
    auth = AuthClient(client, settings.auth_url, token.get_secret_value() if token else None)
    patience = Patience(settings.consumer_retry_base_seconds, settings.consumer_outage_max_seconds)
    return SubscriptionHandler(pool, auth, settings.consumer_events_topic, pending, patience)
