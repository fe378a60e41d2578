"""The access reconciler finds Auth disagreeing with the subscriptions and repairs it."""

import asyncio
import uuid

import asyncpg
import httpx
from consumer_world import OutsideWorld, add_payment, subscriber

from consumers.subscriptions import repository as repo
from consumers.subscriptions.auth import AuthClient
from consumers.subscriptions.reconciler import REPAIRS, AccessReconciler


def repairs(action: str) -> float:
    return REPAIRS.labels(action)._value.get()  # type: ignore[attr-defined]


async def test_a_missing_grant_and_a_stale_role_are_repaired_once(
    pool: asyncpg.Pool, world: OutsideWorld
) -> None:
    paying, lapsed = uuid.uuid4(), uuid.uuid4()
    await add_payment(pool, paying)  # subscribed, but Auth was never told (a dead letter)
    await add_payment(pool, lapsed)
    await pool.execute(
        "UPDATE payments_history.subscriptions SET status = 'expired' WHERE user_id = $1", lapsed
    )
    world.roles[str(lapsed)] = {"subscriber"}  # Auth still lets them in
    grants, revokes = repairs("grant"), repairs("revoke")
    async with httpx.AsyncClient() as client:
        reconciler = AccessReconciler(pool, AuthClient(client, world.url))
        assert await reconciler.check(paying) == 1
        assert await reconciler.check(lapsed) == 1
        assert await reconciler.check(paying) == 0 and await reconciler.check(lapsed) == 0
    assert world.roles[str(paying)] == {"subscriber"} and world.roles[str(lapsed)] == set()
    assert (repairs("grant") - grants, repairs("revoke") - revokes) == (1, 1)
    row = await subscriber(pool, paying)
    assert row is not None and row["subscriber_status"] is True


async def test_auth_away_during_a_pass_is_left_for_the_next_one(
    pool: asyncpg.Pool, world: OutsideWorld
) -> None:
    user = uuid.uuid4()
    await add_payment(pool, user)
    world.always = 503
    async with httpx.AsyncClient() as client:
        reconciler = AccessReconciler(pool, AuthClient(client, world.url))
        await reconciler.run_once(window_s=60)
        assert str(user) not in world.roles
        world.always = None
        await reconciler.run_once(window_s=60)
    assert world.roles[str(user)] == {"subscriber"}


async def test_a_user_already_in_agreement_is_checked_without_a_lock_or_a_write(
    pool: asyncpg.Pool, world: OutsideWorld
) -> None:
    user = uuid.uuid4()
    await add_payment(pool, user)
    async with httpx.AsyncClient() as client:
        reconciler = AccessReconciler(pool, AuthClient(client, world.url))
        assert await reconciler.check(user) == 1  # granted, and the row written
        row = await subscriber(pool, user)
        async with pool.acquire() as holder, holder.transaction():
            await repo.lock_user(holder, user)  # a writer of this user is mid-transaction
            # Everything agrees: the pass neither waits for the lock nor writes the row.
            assert await asyncio.wait_for(reconciler.check(user), 5) == 0
    assert await subscriber(pool, user) == row


async def test_a_stale_row_is_still_repaired_when_auth_already_agrees(
    pool: asyncpg.Pool, world: OutsideWorld
) -> None:
    user = uuid.uuid4()
    await add_payment(pool, user)
    world.roles[str(user)] = {"subscriber"}  # Auth was told, the row was never written
    async with httpx.AsyncClient() as client:
        assert await AccessReconciler(pool, AuthClient(client, world.url)).check(user) == 0
    row = await subscriber(pool, user)
    assert row is not None and row["subscriber_status"] is True


async def test_a_stop_cuts_a_pass_short(pool: asyncpg.Pool, world: OutsideWorld) -> None:
    users = [uuid.uuid4() for _ in range(3)]
    for user in users:
        await add_payment(pool, user)
    stop = asyncio.Event()
    stop.set()
    async with httpx.AsyncClient() as client:
        reconciler = AccessReconciler(pool, AuthClient(client, world.url))
        assert await reconciler.run_once(window_s=60, stop=stop) == 0
    assert all(str(user) not in world.roles for user in users)
