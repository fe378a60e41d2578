"""Per-user token buckets, in memory (one gateway process; a fleet would share Redis)."""

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import RateLimited

MAX_TRACKED = 100_000


@dataclass
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`per_minute` requests a minute per user, bursting up to `per_minute` at once."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[uuid.UUID, Bucket] = {}

    def take(self, user_id: uuid.UUID) -> None:
        now = self.clock()
        bucket = self.buckets.get(user_id) or Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            self.buckets[user_id] = bucket
            raise RateLimited(max(1, math.ceil((1.0 - bucket.tokens) / self.rate)))
        bucket.tokens -= 1.0
        self.buckets[user_id] = bucket
        if len(self.buckets) > MAX_TRACKED:
            self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: forgetting them changes nothing."""
        for user_id, bucket in list(self.buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self.rate >= self.capacity:
                del self.buckets[user_id]
