"""A payment's life, in order: accepted by the gateway, then every message handled about it
(inbox: commands and webhooks, per consumer) and every event it produced (outbox)."""

from dataclasses import dataclass
from datetime import datetime

from admin_project.billing.models import Inbox, Outbox, Payment, PaymentStatus


@dataclass(frozen=True)
class Step:
    at: datetime
    kind: str
    what: str
    detail: str


def payment_timeline(payment: Payment) -> list[Step]:
    request = f", request {payment.request_id}" if payment.request_id else ""
    accepted = f"key {payment.idempotency_key}{request}"
    steps = [Step(payment.created_at, "gateway", str(PaymentStatus.ACCEPTED), accepted)]
    for row in Inbox.objects.filter(payment_id=payment.id).order_by("processed_at")[:200]:
        detail = f"{row.topic}[{row.partition}]@{row.offset} by {row.consumer}"
        steps.append(Step(row.processed_at, "handled", row.type, detail))
    for event in Outbox.objects.filter(payment_id=payment.id).order_by("id")[:200]:
        published = event.published_at.isoformat() if event.published_at else "not yet published"
        steps.append(Step(event.created_at, "event", event.type, f"{event.topic}, {published}"))
    return sorted(steps, key=lambda step: step.at)
