"""Rows, commands and notifications for the handler unit tests, over `fakes.FakeDeps`."""

import uuid
from dataclasses import replace
from decimal import Decimal
from itertools import count
from typing import Any

from fakes import FakeDeps

from domain import commands
from domain.payments import PaymentStatus
from domain.refunds import RefundStatus
from processors import handlers, webhooks
from processors.inbox import InboxEntry, Origin
from processors.repository import PaymentRow, RefundRow
from schemas import ids
from schemas.messages import CreatePayment, ProviderNotification, RefundPayment

_offsets = count()


def origin(
    consumer: str, message: CreatePayment | RefundPayment | ProviderNotification
) -> InboxEntry:
    payment_id = getattr(message, "payment_id", None)
    where = Origin("t", 0, next(_offsets))
    return InboxEntry(consumer, message.message_id, message.type, where, payment_id)


def new_payment(
    deps: FakeDeps, amount: str = "499.00", receipt: dict[str, Any] | None = None
) -> CreatePayment:
    """What the gateway does: the accepted row (with its receipt), then the command."""
    user_id, key = uuid.uuid4(), uuid.uuid4().hex
    row = PaymentRow(
        id=ids.payment_id(user_id, key),
        user_id=user_id,
        plan_id="monthly",
        amount=Decimal(amount),
        currency="RUB",
        status=PaymentStatus.ACCEPTED,
        external_id=None,
        return_url="https://cinema.example/back",
        confirmation_url=None,
        refunded_amount=Decimal("0.00"),
        refunded=False,
        failure_reason=None,
        receipt=receipt,
    )
    deps.store.rows.payments[row.id] = row
    return commands.create_payment(
        payment_id=row.id,
        user_id=user_id,
        plan_id=row.plan_id,
        amount=row.amount,
        currency=row.currency,
        return_url=row.return_url,
    )


async def create(deps: FakeDeps, cmd: CreatePayment) -> None:
    await handlers.create_payment(cmd, origin(handlers.CONSUMER, cmd), deps)


async def paid_payment(
    deps: FakeDeps, amount: str = "499.00", receipt: dict[str, Any] | None = None
) -> CreatePayment:
    """A payment the card holder paid and whose webhook we applied."""
    cmd = new_payment(deps, amount, receipt)
    await create(deps, cmd)
    external_id = str(row(deps, cmd).external_id)
    deps.provider.settle(external_id, PaymentStatus.SUCCEEDED)
    await notify(deps, external_id, "payment.succeeded")
    assert row(deps, cmd).status is PaymentStatus.SUCCEEDED
    return cmd


def new_refund(deps: FakeDeps, payment: CreatePayment, amount: str) -> RefundPayment:
    key = uuid.uuid4().hex
    refund = RefundRow(
        id=ids.refund_id(payment.user_id, key),
        payment_id=payment.payment_id,
        user_id=payment.user_id,
        amount=Decimal(amount),
        currency="RUB",
        status=RefundStatus.ACCEPTED,
        external_id=None,
        reserved=False,
        requested_by="api",
        created_at=deps.store.clock,
    )
    deps.store.rows.refunds[refund.id] = refund
    return commands.refund_payment(
        refund_id=refund.id,
        payment_id=payment.payment_id,
        user_id=payment.user_id,
        amount=refund.amount,
        currency="RUB",
        requested_by="api",
    )


async def refund(deps: FakeDeps, cmd: RefundPayment) -> None:
    await handlers.refund_payment(cmd, origin(handlers.CONSUMER, cmd), deps)


def notification(
    payment_external_id: str, event: str, object_id: str | None = None, body_status: str = ""
) -> ProviderNotification:
    object_id = object_id or payment_external_id
    return ProviderNotification(
        message_id=ids.message_id("ProviderNotification", object_id, event, body_status or event),
        event=event,
        object_id=object_id,
        payment_external_id=payment_external_id,
        body={"event": event, "object": {"id": object_id, "status": body_status}},
    )


async def notify(
    deps: FakeDeps, payment_external_id: str, event: str, object_id: str | None = None
) -> ProviderNotification:
    note = notification(payment_external_id, event, object_id)
    await webhooks.handle_notification(note, origin(webhooks.CONSUMER, note), deps)
    return note


def row(deps: FakeDeps, cmd: CreatePayment | RefundPayment) -> PaymentRow:
    return deps.store.rows.payments[cmd.payment_id]


def refund_row(deps: FakeDeps, cmd: RefundPayment) -> RefundRow:
    return deps.store.rows.refunds[cmd.refund_id]


def forget_row(deps: FakeDeps, payment_id: uuid.UUID) -> PaymentRow:
    return deps.store.rows.payments.pop(payment_id)


def put_row(deps: FakeDeps, payment: PaymentRow, **changes: object) -> None:
    deps.store.rows.payments[payment.id] = replace(payment, **changes)  # type: ignore[arg-type]
