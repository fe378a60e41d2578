"""docs/security.md, residual risks: while PostgreSQL is away (or the pool is busy past its
timeout) the API's rate limiter refuses the POST with 503 instead of letting it through
unmetered (gateway/ratelimit.py: it fails closed)."""

import uuid
from contextlib import asynccontextmanager
from typing import Any

import pytest

from gateway.errors import DatabaseUnavailable
from gateway.ratelimit import RateLimiter


class DatabaseAway:
    @asynccontextmanager
    async def connection(self) -> Any:
        raise DatabaseUnavailable("PostgreSQL is away")
        yield  # pragma: no cover


async def test_with_postgresql_away_the_limiter_lets_no_request_through() -> None:
    limiter = RateLimiter(per_minute=600, db=DatabaseAway())  # type: ignore[arg-type]
    user = uuid.uuid4()
    for _ in range(3):  # far under the limit, and still never waved through unmetered
        with pytest.raises(DatabaseUnavailable):
            await limiter.take(user)
