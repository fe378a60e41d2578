"""Retrying, written once: the backoff, the per-record retry policy, the start-up wait.

* `backoff` — capped exponential with the upper half jittered (used by every retry here).
* `RetryPolicy` — what a run loop does when a handler fails: retry until it works
  (`attempts=None`, the processors) or retry then give up (the consumers dead-letter). A
  `permanent` error gives up at once; an `outages` error (PostgreSQL or Kafka away: the
  message is fine, the world is not) is waited out without counting an attempt.
* `until_up` — a process start-up that waits for PostgreSQL or Kafka instead of dying.
"""

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Infrastructure being down: wait, do not blame the message.
OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError and friends while (re)connecting to PostgreSQL
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.TooManyConnectionsError,
    KafkaError,
)
# What a start-up waits out: the outages, and a pool or client refused before it is ready.
STARTUP_OUTAGES: tuple[type[BaseException], ...] = (
    *OUTAGES,
    asyncpg.InterfaceError,
    asyncpg.PostgresError,
)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Sleep after failed attempt `attempt` (1-based): base · 2^(attempt-1), capped, jittered
    over the upper half so that many waiters do not retry in step."""
    ceiling = min(cap, base * 2 ** min(max(0, attempt - 1), 32))
    return random.uniform(ceiling / 2, ceiling)


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """Per-record policy of a run loop. The defaults are the consumers' (~10 s, then give up)."""

    attempts: int | None = 6  # None: retry until it works, never give up
    base_seconds: float = 0.3
    max_seconds: float = 4.0
    outage_max_seconds: float = 5.0
    permanent: tuple[type[BaseException], ...] = ()
    outages: tuple[type[BaseException], ...] = ()

    @classmethod
    def until_it_works(cls, base_seconds: float, max_seconds: float) -> "RetryPolicy":
        """Every failure is retried in its lane, never skipped (the processors' money path)."""
        return cls(attempts=None, base_seconds=base_seconds, max_seconds=max_seconds)

    @property
    def gives_up(self) -> bool:
        return self.attempts is not None or bool(self.permanent)

    def backoff(self, attempt: int) -> float:
        return backoff(attempt, self.base_seconds, self.max_seconds)

    def outage_backoff(self, tries: int) -> float:
        return backoff(tries + 1, 0.2, self.outage_max_seconds)

    def exhausted(self, attempt: int) -> bool:
        return self.attempts is not None and attempt >= self.attempts


async def until_up(
    what: str,
    connect: Callable[[], Awaitable[T]],
    stop: asyncio.Event | None = None,
    retry_on: tuple[type[BaseException], ...] = STARTUP_OUTAGES,
) -> T | None:
    """`connect()`'s result once it works; None if `stop` was set first (never without one)."""
    stop = stop or asyncio.Event()
    tries = 0
    while not stop.is_set():
        try:
            return await connect()
        except retry_on as exc:
            tries += 1
            log.warning("%s unavailable (%r); retry %d", what, exc, tries)
            await pause(stop, backoff(tries + 1, 0.2, 5.0))
    return None
