"""The relay publishes only the topics it owns: a stray outbox row never holds events back."""

import uuid

from processors_harness import read_topic

from common import outbox
from common.producer import Producer
from processors.relay import Relay
from processors.runtime import Context
from processors.settings import ProcessorSettings
from schemas import ids
from schemas.messages import PaymentPending
from schemas.topics import EVENTS


def _event() -> PaymentPending:
    return PaymentPending(
        message_id=ids.message_id("PaymentPending", uuid.uuid4()),
        payment_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        plan_id="monthly",
        amount="499.00",
        currency="RUB",
        external_id=uuid.uuid4(),
        confirmation_url="https://pay/x",
    )


def test_by_default_the_relay_owns_only_the_billing_events() -> None:
    assert ProcessorSettings().relay_topic_list == [EVENTS]


async def test_a_row_for_a_topic_that_does_not_exist_does_not_block_the_relay(
    ctx: Context,
) -> None:
    topic = ctx.settings.events_topic
    stray, event = _event(), _event()
    async with ctx.pool.acquire() as conn:
        await outbox.append(conn, stray, topic=f"gone.{uuid.uuid4().hex}", key="k")
        await outbox.append(conn, event, topic=topic, key=str(event.user_id))
    settings = ctx.settings.model_copy(update={"relay_topics": topic})
    publisher = Producer(settings)
    try:
        assert await Relay(settings, ctx.pool, publisher).publish_once() >= 1
    finally:
        await publisher.reset()

    published = await ctx.pool.fetch(
        "SELECT message_id, published_at IS NOT NULL AS done FROM payments_history.outbox"
        " WHERE message_id = ANY($1::uuid[])",
        [stray.message_id, event.message_id],
    )
    assert {r["message_id"]: r["done"] for r in published} == {
        stray.message_id: False,
        event.message_id: True,
    }
    records = await read_topic(settings, topic, 1)
    assert [r.key.decode() for r in records] == [str(event.user_id)]
