"""Admin actions that go through the pipeline, never around it.

A refund from the admin is the gateway's refund, started by a person: the `accepted` row is
inserted with a deterministic id derived from the action's nonce (so a double submit names
the same refund and refunds once), then the `RefundPayment` command is produced to
`billing.commands.v1` keyed by user_id. If Kafka does not ack, the accepted row stays and
the reconciler re-drives it; the operator is told.
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from admin_project.billing.errors import PipelineUnavailable, RefundRefused
from admin_project.billing.kafka import Record, produce
from admin_project.billing.models import DeadLetter, Payment, Refund
from domain import commands, refunds
from domain.errors import NotRefundable, PaymentNotSucceeded, RefundExceedsAvailable
from domain.refunds import RefundStatus
from schemas import COMMANDS, RefundPayment, encode, ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefundRequest:
    payment_id: uuid.UUID
    amount: Decimal | None  # None: everything that is left
    nonce: str
    username: str
    ends_access: bool = True  # False: goodwill, the subscription keeps its paid time

    @property
    def access_label(self) -> str:
        return "end access" if self.ends_access else "keep access (goodwill)"

    @property
    def idempotency_key(self) -> str:
        return f"admin-{self.nonce}"


def refundable_left(payment: Payment, excluding: uuid.UUID | None = None) -> Decimal:
    """What is left to refund (`domain.refunds.available`): every refund in flight holds."""
    held = (
        Refund.objects.filter(payment_id=payment.id, status__in=refunds.holding())
        .exclude(id=excluding)
        .aggregate(total=Sum("amount"))["total"]
    )
    return refunds.available(payment.amount, payment.refunded_amount, [held or Decimal(0)])


def fingerprint(payment_id: uuid.UUID, amount: Decimal) -> str:
    body = {"amount": f"{amount:.2f}", "payment_id": str(payment_id)}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _granted(payment: Payment, requested: Decimal | None, left: Decimal) -> Decimal:
    """`domain.refunds.grant`, its refusal worded for the operator."""
    try:
        return refunds.grant(payment.status, requested, left)
    except PaymentNotSucceeded as exc:
        raise RefundRefused(
            f"only succeeded payments can be refunded (this one is {payment.status})"
        ) from exc
    except RefundExceedsAvailable as exc:
        raise RefundRefused(f"only {left:.2f} {payment.currency} is left to refund") from exc
    except NotRefundable as exc:
        raise RefundRefused(f"the refund amount is not accepted: {exc}") from exc


def _accept_refund(request: RefundRequest) -> Refund:
    """Insert (or find, on a double submit) the accepted refund row, under the payment's lock."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(id=request.payment_id)
        refund_id = ids.refund_id(payment.user_id, request.idempotency_key)
        existing = Refund.objects.filter(id=refund_id).first()
        if existing is not None:
            if existing.payment_id != payment.id:
                raise RefundRefused("this refund form was already used for another payment")
            return existing
        amount = _granted(payment, request.amount, refundable_left(payment))
        return Refund.objects.create(
            id=refund_id,
            payment=payment,
            user_id=payment.user_id,
            amount=amount,
            currency=payment.currency,
            status=RefundStatus.ACCEPTED,
            idempotency_key=request.idempotency_key,
            request_fingerprint=fingerprint(payment.id, amount),
            requested_by=f"admin:{request.username}",
            ends_access=request.ends_access,
        )


def refund_command(refund: Refund) -> RefundPayment:
    return commands.refund_payment(
        refund_id=refund.id,
        payment_id=refund.payment_id,
        user_id=refund.user_id,
        amount=refund.amount,
        currency=refund.currency,
        requested_by=refund.requested_by,
    )


def request_refund(request: RefundRequest) -> Refund:
    """Accept the refund and hand it to Kafka; a replayed nonce re-sends the same command."""
    refund = _accept_refund(request)
    if refund.status == RefundStatus.ACCEPTED:
        command = refund_command(refund)
        try:
            produce([Record(COMMANDS, str(refund.user_id).encode(), encode(command))])
        except Exception as exc:
            log.exception("RefundPayment %s not acked by Kafka", refund.id)
            raise PipelineUnavailable(
                f"refund {refund.id} is accepted but Kafka did not ack ({exc!r}); "
                "the reconciler will send it"
            ) from exc
    return refund


def request_recheck(payment_ids: list[uuid.UUID]) -> int:
    """Make the rows due for the reconciler now; it re-reads them from the provider."""
    return Payment.objects.filter(id__in=payment_ids).update(next_check_at=timezone.now())


def reinject(letters: list[DeadLetter], username: str) -> int:
    """Produce each dead letter's original key/payload back to its origin topic, then mark it.

    Same effect as `consumers.dlq.reinject` (kept apart because Django owns this connection):
    the rows are locked while producing, so two operators cannot re-inject one letter twice.
    """
    with transaction.atomic():
        pending = list(
            DeadLetter.objects.select_for_update()
            .filter(id__in=[letter.id for letter in letters], reinjected_at__isnull=True)
            .order_by("id")
        )
        records = [
            Record(
                letter.origin_topic,
                letter.key.encode() if letter.key is not None else None,
                letter.payload.encode(),
            )
            for letter in pending
        ]
        if records:
            produce(records)
        DeadLetter.objects.filter(id__in=[letter.id for letter in pending]).update(
            reinjected_at=timezone.now(), reinjected_by=f"admin:{username}"
        )
    return len(pending)
