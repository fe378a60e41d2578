"""`python -m processors.commands`: CreatePayment / RefundPayment → provider → DB + outbox."""

import asyncio
import logging

from aiokafka import ConsumerRecord

from common.kafka import make_consumer
from common.runloop import KeyedRunLoop, RunLoopConfig
from processors import handlers
from processors.inbox import Origin
from processors.runtime import Context, bootstrap, main
from processors.settings import ProcessorSettings
from schemas.codec import UndecodableMessage, decode
from schemas.messages import CreatePayment, RefundPayment

log = logging.getLogger(__name__)


def origin_of(record: ConsumerRecord, consumer: str, message_id, type_: str, payment_id) -> Origin:  # type: ignore[no-untyped-def]
    return Origin(consumer, message_id, type_, record.topic, record.partition, record.offset,
                  payment_id)  # fmt: skip


def make_handler(ctx: Context):  # type: ignore[no-untyped-def]
    async def handle(record: ConsumerRecord) -> None:
        try:
            message = decode(record.value or b"")
        except UndecodableMessage as exc:
            log.error("skipping undecodable record %s-%s@%s: %s", record.topic, record.partition,
                      record.offset, exc)  # fmt: skip
            return
        if isinstance(message, CreatePayment):
            origin = origin_of(record, handlers.CONSUMER, message.message_id, message.type,
                               message.payment_id)  # fmt: skip
            await handlers.create_payment(message, origin, ctx)
        elif isinstance(message, RefundPayment):
            origin = origin_of(record, handlers.CONSUMER, message.message_id, message.type,
                               message.payment_id)  # fmt: skip
            await handlers.refund_payment(message, origin, ctx)
        else:
            log.warning("ignoring %s on the commands topic", message.type)

    return handle


def build_loop(ctx: Context) -> KeyedRunLoop:
    settings = ctx.settings
    config = RunLoopConfig(
        name="processor-commands", max_in_flight=settings.processor_max_in_flight
    )
    return KeyedRunLoop(lambda: make_consumer(settings, settings.commands_group),
                        [settings.commands_topic], make_handler(ctx), config)  # fmt: skip


async def run(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    ctx = await bootstrap(settings)
    try:
        await build_loop(ctx).run(stop)
    finally:
        await ctx.aclose()


if __name__ == "__main__":
    main("processor-commands", run)
