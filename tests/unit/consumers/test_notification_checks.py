"""When the notifications handler reads the inbox before a send (fakes: no database, no HTTP).

It checks a notified event's message in the inbox unless its record's batch was just looked
up by the run loop's pre-read and found not handled (`common.inbox.Checked`); a message it
handled itself, whose row waits for the flush, is never sent twice."""

import uuid
from decimal import Decimal
from typing import Any

from aiokafka import ConsumerRecord

from common.inbox import Checked, Origin, PendingInbox
from consumers.notifications.handler import NotificationHandler
from consumers.outbound import Outbound
from schemas.messages import PaymentSucceeded
from tests.events import payment_pending


class InboxPool:
    """Answers `inbox.seen` from a set; counts the statements."""

    def __init__(self, handled: set[uuid.UUID]) -> None:
        self.handled = handled
        self.statements = 0

    async def fetchval(self, sql: str, consumer: str, message_id: uuid.UUID) -> Any:
        self.statements += 1
        return 1 if message_id in self.handled else None


def paid() -> PaymentSucceeded:
    return PaymentSucceeded(
        message_id=uuid.uuid4(),
        payment_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        plan_id="monthly",
        amount=Decimal("499.00"),
        currency="RUB",
        external_id=uuid.uuid4(),
    )


def handler(pool: InboxPool, sent: list[str]) -> tuple[NotificationHandler, Checked]:
    async def notify(
        method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        sent.append((body or b"").decode())
        return 201, b'{"duplicate": false}'

    client = Outbound(5.0, transport=notify)
    checked = Checked()
    pending = PendingInbox(pool, "consumer-notifications")  # type: ignore[arg-type]
    return NotificationHandler(pool, client, "http://notify", pending, checked), checked  # type: ignore[arg-type]


def at(offset: int) -> tuple[ConsumerRecord, Origin]:
    record = ConsumerRecord("t", 0, offset, 0, 0, b"k", b"{}", None, 0, 0, [])
    return record, Origin.of(record)


async def test_a_record_its_pre_read_found_not_handled_is_sent_without_a_check() -> None:
    pool, sent = InboxPool(set()), list[str]()
    handle, checked = handler(pool, sent)
    record, origin = at(0)
    checked.add(record)

    await handle(paid(), origin)

    assert pool.statements == 0 and len(sent) == 1


async def test_an_unmarked_record_is_checked_and_a_handled_message_not_sent() -> None:
    event = paid()
    pool, sent = InboxPool({event.message_id}), list[str]()
    handle, _ = handler(pool, sent)

    await handle(event, at(0)[1])
    await handle(paid(), at(1)[1])

    assert pool.statements == 2 and len(sent) == 1


async def test_a_message_handled_here_is_not_sent_again_even_when_marked() -> None:
    """Two records of one message (a producer's retry) in one looked-up batch: both marked,
    the first sends, the second finds its row waiting for the flush."""
    event = paid()
    pool, sent = InboxPool(set()), list[str]()
    handle, checked = handler(pool, sent)
    (first, o1), (second, o2) = at(0), at(1)
    checked.add(first)
    checked.add(second)

    await handle(event, o1)
    await handle(event, o2)

    assert len(sent) == 1 and pool.statements == 0


async def test_an_event_nobody_hears_of_takes_its_mark_and_costs_no_statement() -> None:
    pool, sent = InboxPool(set()), list[str]()
    handle, checked = handler(pool, sent)
    record, origin = at(0)
    checked.add(record)

    await handle(payment_pending(), origin)

    assert (pool.statements, sent, len(checked)) == (0, [], 0)
