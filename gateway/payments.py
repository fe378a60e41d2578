"""Accepting a payment: row first (PostgreSQL is the truth), then the command, then 202.

A same-key replay finds the row, checks the fingerprint, and re-produces the command while
the row is still `accepted` (an earlier attempt may have died before Kafka acked; the
command's message_id is deterministic so processors see one command). Once the row has
moved on, nothing is produced: the provider was already asked.
"""

import uuid
from typing import Any

from common import logs
from domain import commands, payments
from domain.payments import PaymentStatus
from gateway.deps import Meter, Services
from gateway.errors import (
    DatabaseUnavailable,
    IdempotencyKeyReused,
    ReceiptContactRequired,
    ReturnUrlNotAllowed,
    UnknownPlan,
)
from gateway.models import CreatePaymentBody, fingerprint
from gateway.origins import return_url_allowed
from gateway.repository import (
    NewPayment,
    Record,
    accepted,
    active_plan,
    insert_payment,
    payment_by_key,
    user_payment,
)
from processors.provider import receipts
from schemas import ids
from schemas.messages import CreatePayment

MAX_WAIT_S = 10


async def accept_payment(
    svc: Services,
    meter: Meter,
    key: str,
    body: CreatePaymentBody,
) -> tuple[Record, bool]:
    """The payment row and whether it is a replay (the key named an existing payment).

    The caller's rate-limit token is taken by the first statement (`RateLimited`: nothing
    else done); a 422 raised before it is answered by the error handler, which takes it
    then (`deps.Meter`)."""
    if not return_url_allowed(body.return_url, svc.settings.return_url_origins()):
        raise ReturnUrlNotAllowed()
    user_id = meter.user_id
    fp = fingerprint(body.fingerprint_fields())
    email = receipts.customer_email(meter.email, body.email)
    row, replayed = await _stored_payment(svc, meter, key, body, fp, email)
    if row["request_fingerprint"] != fp:
        raise IdempotencyKeyReused()
    if row["status"] == PaymentStatus.ACCEPTED:
        await svc.publisher.publish(
            svc.settings.commands_topic, user_id, create_command(row), logs.kafka_headers()
        )
        svc.metrics.produced.labels(svc.settings.commands_topic, "CreatePayment").inc()
    return row, replayed


async def _stored_payment(
    svc: Services,
    meter: Meter,
    key: str,
    body: CreatePaymentBody,
    fp: str,
    email: str | None,
) -> tuple[Record, bool]:
    """The row for (user, key): the existing one, or a new `accepted` one priced now, with
    the 54-FZ receipt it will be sent with (no contact: 422, and no row).

    Usually one statement (`_short_way`); when that cannot tell, the long way below.
    """
    found = await _short_way(svc, meter, key, body, fp, email)
    if found is not None:
        return found
    return await _long_way(svc, meter, key, body, fp, email)


async def _short_way(
    svc: Services,
    meter: Meter,
    key: str,
    body: CreatePaymentBody,
    fp: str,
    email: str | None,
) -> tuple[Record, bool] | None:
    """The rate-limit token and insert-or-existing in one statement, priced from the cached
    plan, perhaps with concurrent POSTs' (`gateway.accept_batches`); None when the plan is
    not cached, the receipt cannot be made (a replay must not be refused for it), or the
    statement could not tell (`repository.accepted`)."""
    plan = svc.plans.get(body.plan_id)
    if plan is None:
        return None
    try:
        new = _new_payment(svc, plan, meter.user_id, key, body, fp, email)
    except ReceiptContactRequired:
        return None
    meter.taken = True  # whatever comes of the statement: one try per request
    found = accepted(await svc.accepts.accept(new, plan["version"]), svc.limiter)
    return None if found is None else (found[0], not found[1])


async def _long_way(
    svc: Services,
    meter: Meter,
    key: str,
    body: CreatePaymentBody,
    fp: str,
    email: str | None,
) -> tuple[Record, bool]:
    """Look the row up, else read the plan (refreshing the cache) and insert, then re-read.

    The payment id is derived from (user, key), so a key whose text the retention clean-up
    dropped still finds its payment by id: a late replay never creates a second one.
    The rate-limit token comes first, unless the short way's statement took it.
    """
    user_id = meter.user_id
    async with svc.db.connection() as conn:
        if not meter.taken:
            meter.taken = True
            await svc.limiter.take_on(conn, user_id)
        row = await payment_by_key(conn, user_id, key)
        row = row or await user_payment(conn, user_id, ids.payment_id(user_id, key))
        if row is not None:
            return row, True
        plan = await active_plan(conn, body.plan_id)
        svc.plans.put(body.plan_id, plan)
        if plan is None:
            raise UnknownPlan()
        new = _new_payment(svc, plan, user_id, key, body, fp, email)
        created = await insert_payment(conn, new)
        row = await user_payment(conn, user_id, new.payment_id)
    if row is None:  # the unique key guarantees a row unless someone deleted it meanwhile
        raise DatabaseUnavailable("the payment row vanished; retry")
    return row, not created


def _new_payment(
    svc: Services,
    plan: Record,
    user_id: uuid.UUID,
    key: str,
    body: CreatePaymentBody,
    fp: str,
    email: str | None,
) -> NewPayment:
    """The `accepted` row of a new payment, priced from `plan`, with its receipt."""
    return NewPayment(
        customer_email=email,
        receipt=_receipt(svc, plan, email),
        payment_id=ids.payment_id(user_id, key),
        user_id=user_id,
        plan_id=plan["id"],
        amount=plan["amount"],
        currency=plan["currency"],
        idempotency_key=key,
        fingerprint=fp,
        return_url=body.return_url,
        auto_renew=body.auto_renew,
        request_id=logs.current_request_id(),
    )


def _receipt(svc: Services, plan: Record, email: str | None) -> dict[str, Any] | None:
    line = receipts.ReceiptLine.of_plan(plan["title"], dict(plan))
    try:
        return receipts.receipt_for(
            svc.settings.provider_receipts, line, plan["amount"], plan["currency"], email
        )
    except receipts.ReceiptContactRequired as exc:
        raise ReceiptContactRequired() from exc


def create_command(row: Record) -> CreatePayment:
    return commands.create_payment(
        payment_id=row["payment_id"],
        user_id=row["user_id"],
        plan_id=row["plan_id"],
        amount=row["amount"],
        currency=row["currency"],
        return_url=row["return_url"],
    )


def requested_wait(prefer: str | None) -> int:
    """Seconds asked for by `Prefer: wait=N` (RFC 7240), clamped to 0..10."""
    for token in (prefer or "").replace(";", ",").split(","):
        name, _, value = token.strip().partition("=")
        if name.strip().lower() == "wait" and value.strip().isdigit():
            return min(int(value.strip()), MAX_WAIT_S)
    return 0


def is_settled(row: Record) -> bool:
    return row["confirmation_url"] is not None or payments.is_final(row["status"])
