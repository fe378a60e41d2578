"""Telling Auth, patiently: a transient failure is never a reason to give up on a user.

Connection errors, timeouts, 5xx and 429 (`TransientError`) mean Auth is away, not that the
request is wrong: the call is retried with capped, jittered backoff for as long as it takes,
holding that delivery (and so that user's later events) back while the rest of the process
goes on. Only a permanent, per-message refusal (another 4xx) leaves here, to the DLQ —
and the access reconciler repairs even that.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from consumers.errors import TransientError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Patience:
    base_seconds: float = 0.2
    cap_seconds: float = 5.0

    def delay(self, tries: int) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** min(tries, 16))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


async def until_done(
    call: Callable[[], Awaitable[None]], what: str, patience: Patience = Patience()
) -> int:
    """Run `call` until it stops failing transiently; the number of transient failures."""
    tries = 0
    while True:
        try:
            await call()
            return tries
        except TransientError as exc:
            tries += 1
            delay = patience.delay(tries)
            log.warning("%s: Auth unavailable (%s); try %d in %.1fs", what, exc, tries + 1, delay)
            await asyncio.sleep(delay)
