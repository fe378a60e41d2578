"""docs/security.md, residual risks: while PostgreSQL is away the API's rate limiter lets
requests through (every POST needs the database anyway and answers 503 a moment later)."""

import uuid
from contextlib import asynccontextmanager
from typing import Any

from gateway.errors import DatabaseUnavailable
from gateway.ratelimit import RateLimiter


class DatabaseAway:
    @asynccontextmanager
    async def connection(self) -> Any:
        raise DatabaseUnavailable("PostgreSQL is away")
        yield  # pragma: no cover


async def test_with_postgresql_away_the_limiter_lets_every_request_through() -> None:
    limiter = RateLimiter(per_minute=1, db=DatabaseAway())  # type: ignore[arg-type]
    user = uuid.uuid4()
    for _ in range(5):  # far over one a minute, and never a 429
        assert await limiter.take(user) is None
