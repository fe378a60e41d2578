"""Webhook intake limits: a token bucket per source address and one for all sources.

Notifications carry no user, so the API's per-user limiter does not apply. Each accepted
notification costs a Kafka message, a provider read with our credentials and an inbox row,
so the intake is bounded per sender (one noisy address cannot spend the budget of the
others) and in total (many addresses cannot either). In memory, per gateway process.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import RateLimited

MAX_TRACKED = 10_000
ALL_SOURCES = "*"


@dataclass
class Bucket:
    tokens: float
    updated: float


class SourceLimiter:
    def __init__(
        self,
        per_source_per_minute: int,
        total_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.per_source = float(per_source_per_minute)
        self.total = float(total_per_minute)
        self.clock = clock
        self.buckets: dict[str, Bucket] = {}

    def take(self, source: str) -> None:
        """Spend one token of `source` and one of the total, or raise 429 spending nothing."""
        now = self.clock()
        pairs = [
            (self._refilled(source, self.per_source, now), self.per_source),
            (self._refilled(ALL_SOURCES, self.total, now), self.total),
        ]
        for bucket, capacity in pairs:
            if bucket.tokens < 1.0:
                raise RateLimited(max(1, math.ceil((1.0 - bucket.tokens) * 60.0 / capacity)))
        for bucket, _ in pairs:
            bucket.tokens -= 1.0
        if len(self.buckets) > MAX_TRACKED:
            self._forget_full(now)

    def _refilled(self, key: str, capacity: float, now: float) -> Bucket:
        bucket = self.buckets.setdefault(key, Bucket(capacity, now))
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * capacity / 60.0)
        bucket.updated = now
        return bucket

    def _forget_full(self, now: float) -> None:
        for key, bucket in list(self.buckets.items()):
            refilled = bucket.tokens + (now - bucket.updated) * self.per_source / 60.0
            if key != ALL_SOURCES and refilled >= self.per_source:
                del self.buckets[key]
