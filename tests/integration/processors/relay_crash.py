"""`python -m tests.integration.processors.relay_crash`: the outbox relay that dies between
the broker's ack and marking the rows published, exit code 3 — the crash window that
test_kills proves safe.

The fault is injected through the relay's `after_produce` seam; production code has no switch.
"""

import asyncio
import os

from processors import relay
from processors.runtime import main
from processors.settings import ProcessorSettings


async def die() -> None:
    os._exit(3)


async def run(settings: ProcessorSettings, stop: asyncio.Event) -> None:
    await relay.run(settings, stop, after_produce=die)


if __name__ == "__main__":
    main("outbox-relay-crash", run)
