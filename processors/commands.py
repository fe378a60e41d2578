"""`python -m processors.commands`: CreatePayment / RefundPayment → provider → DB + outbox;
the subscription commands (RenewSubscription, ExpireSubscription, …) → processors.subscriptions."""

import asyncio
import logging

from common.runloop import KeyedRunLoop
from processors import handlers
from processors.inbox import InboxEntry, Origin
from processors.runtime import Context, MessageHandler, keyed_loop, main, run_loop
from processors.settings import ProcessorSettings
from processors.subscriptions import handlers as subscriptions
from schemas.messages import CreatePayment, Envelope, RefundPayment

log = logging.getLogger(__name__)


def entry(where: Origin, command: CreatePayment | RefundPayment) -> InboxEntry:
    return InboxEntry(
        handlers.CONSUMER, command.message_id, command.type, where, command.payment_id
    )


def subscription_entry(where: Origin, command: Envelope) -> InboxEntry:
    return InboxEntry(handlers.CONSUMER, command.message_id, command.type, where)


def make_handler(ctx: Context) -> MessageHandler:
    async def handle(message: Envelope, where: Origin) -> None:
        if isinstance(message, CreatePayment):
            await handlers.create_payment(message, entry(where, message), ctx)
        elif isinstance(message, RefundPayment):
            await handlers.refund_payment(message, entry(where, message), ctx)
        elif isinstance(message, subscriptions.COMMANDS):
            await subscriptions.handle(message, subscription_entry(where, message), ctx)
        else:
            log.warning("ignoring %s on the commands topic", message.type)

    return handle


def build_loop(ctx: Context) -> KeyedRunLoop:
    settings = ctx.settings
    return keyed_loop(
        ctx,
        handlers.CONSUMER,
        settings.commands_group,
        settings.commands_topic,
        make_handler(ctx),
    )


async def run(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    await run_loop(settings, stop, build_loop)


if __name__ == "__main__":
    main("processor-commands", run)
