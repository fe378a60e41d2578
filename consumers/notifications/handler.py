"""Send one notification per event the user should hear about.

The notification's `dedup_key` is the event's `message_id`, so even a send whose inbox row
never got written (crash in between) is recognised by the Notification service. Before a
send the inbox is checked, so a replay from offset 0 sends nothing at all.

The handler changes nothing in PostgreSQL but the inbox row, so the rows go to a
`PendingInbox` and are written in one statement per commit, before the run loop commits the
offsets (consumers/app.py): a crash before that redelivers the records, the re-send carries
the same `dedup_key` and the service drops it — the same as a crash between the send and the
row always was. An event nobody is notified of needs no check: its row is all it does. Nor
does one whose fetched batch the run loop's pre-read looked up and found not handled
(`common.inbox.Checked`): the inbox was read for it a moment ago.
"""

from dataclasses import dataclass
from typing import Any

import asyncpg

from common.inbox import Checked, PendingInbox
from consumers import inbox
from consumers.delivery import Handler
from consumers.inbox import Origin
from consumers.outbound import Outbound, send
from consumers.settings import ConsumerSettings
from schemas.messages import (
    Envelope,
    PaymentCanceled,
    PaymentFailed,
    PaymentSucceeded,
    RefundFailed,
    RefundSucceeded,
    RenewalUpcoming,
    SubscriptionCanceled,
    SubscriptionExpired,
    SubscriptionPastDue,
    SubscriptionRenewed,
    SubscriptionRevoked,
)

CONSUMER = "consumer-notifications"
GROUP = "billing-consumer-notifications"

TEMPLATES: dict[type[Envelope], str] = {
    PaymentSucceeded: "payment_succeeded",
    PaymentCanceled: "payment_canceled",
    PaymentFailed: "payment_failed",
    RefundSucceeded: "refund_succeeded",
    RefundFailed: "refund_failed",
    SubscriptionRevoked: "subscription_revoked",
    RenewalUpcoming: "renewal_upcoming",
    SubscriptionRenewed: "subscription_renewed",
    SubscriptionPastDue: "renewal_failed",
    SubscriptionExpired: "subscription_expired",
    SubscriptionCanceled: "subscription_canceled",
}
ENVELOPE_FIELDS = {"type", "schema_version", "message_id", "user_id"}


def notification_for(event: Envelope) -> dict[str, Any] | None:
    """The Notification service request for `event`, or None if the user need not hear it."""
    template = TEMPLATES.get(type(event))
    if template is None:
        return None
    payload = event.model_dump(mode="json", exclude=ENVELOPE_FIELDS)  # money as strings
    return {
        "user_id": str(getattr(event, "user_id")),  # noqa: B009 - every notified event has one
        "template": template,
        "payload": payload,
        "dedup_key": str(event.message_id),
    }


@dataclass(frozen=True)
class NotificationHandler:
    pool: asyncpg.Pool
    client: Outbound
    notify_url: str
    pending: PendingInbox
    checked: Checked

    async def __call__(self, event: Envelope, origin: Origin) -> None:
        looked_up = self.checked.take(origin)  # its batch's pre-read found it not handled
        request = notification_for(event)
        if request is not None and not await self._seen(event, looked_up):
            url = f"{self.notify_url.rstrip('/')}/api/v1/notifications"
            await send(self.client, "POST", url, json=request)
        inbox.add(self.pending, event, origin)

    async def _seen(self, event: Envelope, looked_up: bool) -> bool:
        if event.message_id in self.pending:
            return True  # handled in this process; its row waits for the flush
        return not looked_up and await inbox.seen(self.pool, CONSUMER, event.message_id)


def build(
    settings: ConsumerSettings,
    pool: asyncpg.Pool,
    client: Outbound,
    pending: PendingInbox,
    checked: Checked,
) -> Handler:
    return NotificationHandler(pool, client, settings.notify_url, pending, checked)
