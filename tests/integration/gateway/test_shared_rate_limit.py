"""The per-user token bucket lives in PostgreSQL: two gateways (two pools) share one limit."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from gateway.database import Database
from gateway.errors import DatabaseUnavailable, RateLimited
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings

T0 = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
async def databases(database_url: str) -> AsyncIterator[tuple[Database, Database]]:
    settings = GatewaySettings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]
    first, second = Database(settings), Database(settings)
    await first.open()
    await second.open()
    yield first, second
    await first.close()
    await second.close()


async def test_the_bucket_refuses_after_the_burst_and_refills_with_time(
    databases: tuple[Database, Database],
) -> None:
    limiter = RateLimiter(per_minute=2, db=databases[0])
    user = uuid.uuid4()
    await limiter.take(user, T0)
    await limiter.take(user, T0)
    with pytest.raises(RateLimited) as refused:
        await limiter.take(user, T0)
    assert refused.value.headers["Retry-After"] == "30"
    await limiter.take(uuid.uuid4(), T0)  # another user has their own bucket
    with pytest.raises(RateLimited) as again:
        await limiter.take(user, T0 + timedelta(seconds=20))
    assert again.value.headers["Retry-After"] == "10"  # the refusal took no token
    await limiter.take(user, T0 + timedelta(seconds=30))


async def test_a_pool_busy_past_its_timeout_refuses_the_post_instead_of_skipping_the_limit(
    database_url: str,
) -> None:
    """Fails closed: a burst that exhausts the pool must not pass the limiter unmetered."""
    settings = GatewaySettings(  # type: ignore[call-arg]
        _env_file=None, database_url=database_url, gateway_db_pool_size=1, gateway_db_timeout_s=0.2
    )
    db = Database(settings)
    await db.open()
    limiter = RateLimiter(per_minute=600, db=db)
    try:
        assert db.pool is not None
        async with db.pool.acquire(timeout=60):  # the pool's only connection is busy
            with pytest.raises(DatabaseUnavailable):
                await limiter.take(uuid.uuid4(), T0)
    finally:
        await db.close()


async def test_two_gateways_share_one_limit_per_user(
    databases: tuple[Database, Database],
) -> None:
    one, two = (RateLimiter(per_minute=3, db=db) for db in databases)
    user = uuid.uuid4()
    await one.take(user, T0)
    await two.take(user, T0)
    await one.take(user, T0)
    for limiter in (one, two):
        with pytest.raises(RateLimited):
            await limiter.take(user, T0)


async def test_a_burst_racing_over_both_gateways_gets_exactly_the_capacity(
    databases: tuple[Database, Database],
) -> None:
    import asyncio

    one, two = (RateLimiter(per_minute=5, db=db) for db in databases)
    user = uuid.uuid4()

    async def attempt(limiter: RateLimiter) -> bool:
        try:
            await limiter.take(user, T0)
        except RateLimited:
            return False
        return True

    results = await asyncio.gather(*(attempt(one if n % 2 else two) for n in range(12)))
    assert sum(results) == 5


async def _stale_bucket(db: Database, user: uuid.UUID) -> None:
    assert db.pool is not None
    await db.pool.execute(
        "INSERT INTO payments_history.rate_limits (user_id, tokens, updated_at, allowed)"
        " VALUES ($1, 1, now() - interval '1 day', true)",
        user,
    )


async def _bucket_count(db: Database, user: uuid.UUID) -> int:
    assert db.pool is not None
    count: int = await db.pool.fetchval(
        "SELECT count(*) FROM payments_history.rate_limits WHERE user_id = $1", user
    )
    return count


async def test_forgetting_skips_a_bucket_another_statement_holds_instead_of_waiting_for_it(
    databases: tuple[Database, Database],
) -> None:
    """A batch of POSTs locks its users' buckets in user order; the clean-up must never wait
    for one of them while it holds another (a deadlock, and a POST's answer held ~1 s)."""
    first, second = databases
    held, free = uuid.uuid4(), uuid.uuid4()
    await _stale_bucket(first, held)
    await _stale_bucket(first, free)
    limiter = RateLimiter(per_minute=2, db=second)
    limiter.next_forget = 0.0  # due now
    assert first.pool is not None and second.pool is not None
    async with first.pool.acquire() as holder, holder.transaction():
        await holder.execute(
            "SELECT 1 FROM payments_history.rate_limits WHERE user_id = $1 FOR UPDATE", held
        )
        async with second.pool.acquire() as conn:
            await conn.execute("SET lock_timeout = '2s'")
            try:
                await limiter.forget_if_due(conn)
            finally:
                await conn.execute("RESET lock_timeout")
    assert (await _bucket_count(first, held), await _bucket_count(first, free)) == (1, 0)


async def test_a_failed_clean_up_is_not_the_post_s_failure(
    databases: tuple[Database, Database],
) -> None:
    """It runs after the POST's statement committed: raising would answer that POST with an
    error (or rerun a whole batch of them, each taking a second token)."""
    first, second = databases
    limiter = RateLimiter(per_minute=2, db=second)
    limiter.next_forget = 0.0  # due now
    assert first.pool is not None and second.pool is not None
    async with first.pool.acquire() as holder, holder.transaction():
        await holder.execute("LOCK payments_history.rate_limits IN ACCESS EXCLUSIVE MODE")
        async with second.pool.acquire() as conn:
            await conn.execute("SET lock_timeout = '50ms'")
            try:
                await limiter.forget_if_due(conn)  # cannot get its lock: logged, not raised
            finally:
                await conn.execute("RESET lock_timeout")
    assert limiter.next_forget > 0.0  # tried: the next try is a period later
