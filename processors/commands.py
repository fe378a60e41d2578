"""`python -m processors.commands`: CreatePayment / RefundPayment → provider → DB + outbox."""

import asyncio
import logging

from aiokafka import ConsumerRecord

from common import logs
from common.runloop import KeyedRunLoop
from processors import handlers
from processors.inbox import Origin
from processors.runtime import Context, RecordHandler, keyed_loop, main, run_loop
from processors.settings import ProcessorSettings
from schemas.codec import UndecodableMessage, decode
from schemas.messages import CreatePayment, RefundPayment

log = logging.getLogger(__name__)


def origin_of(record: ConsumerRecord, command: CreatePayment | RefundPayment) -> Origin:
    return Origin(
        handlers.CONSUMER,
        command.message_id,
        command.type,
        record.topic,
        record.partition,
        record.offset,
        command.payment_id,
    )


def make_handler(ctx: Context) -> RecordHandler:
    async def handle(record: ConsumerRecord) -> None:
        try:
            message = decode(record.value or b"")
        except UndecodableMessage as exc:
            log.error(
                "skipping undecodable record %s-%s@%s: %s",
                record.topic,
                record.partition,
                record.offset,
                exc,
            )
            return
        logs.bind_message(message)
        if isinstance(message, CreatePayment):
            await handlers.create_payment(message, origin_of(record, message), ctx)
        elif isinstance(message, RefundPayment):
            await handlers.refund_payment(message, origin_of(record, message), ctx)
        else:
            log.warning("ignoring %s on the commands topic", message.type)

    return handle


def build_loop(ctx: Context) -> KeyedRunLoop:
    settings = ctx.settings
    return keyed_loop(
        ctx,
        "processor-commands",
        settings.commands_group,
        settings.commands_topic,
        make_handler(ctx),
    )


async def run(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    await run_loop(settings, stop, build_loop)


if __name__ == "__main__":
    main("processor-commands", run)
