"""The access reconciler finds Auth disagreeing with the subscriptions and repairs it, and a
pass checks what changed plus one slice of the sweep, not every subscriber."""

import asyncio
import time
import uuid

import asyncpg
from consumer_world import OutsideWorld, add_payment, subscriber

from consumers.outbound import Outbound
from consumers.subscriptions import repository as repo
from consumers.subscriptions.auth import AuthClient
from consumers.subscriptions.reconciler import REPAIRS, AccessReconciler, Passes


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
    async with Outbound(10.0) as client:
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
    async with Outbound(10.0) as client:
        reconciler = AccessReconciler(pool, AuthClient(client, world.url))
        passes = Passes(window_s=60, sweep_batch=10, interval_s=0.0)
        await reconciler.run_once(passes)
        assert str(user) not in world.roles
        world.always = None
        await reconciler.run_once(passes)  # the user did not change since: asked again anyway
    assert world.roles[str(user)] == {"subscriber"}


async def test_a_user_already_in_agreement_is_checked_without_a_lock_or_a_write(
    pool: asyncpg.Pool, world: OutsideWorld
) -> None:
    user = uuid.uuid4()
    await add_payment(pool, user)
    async with Outbound(10.0) as client:
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
    async with Outbound(10.0) as client:
        assert await AccessReconciler(pool, AuthClient(client, world.url)).check(user) == 0
    row = await subscriber(pool, user)
    assert row is not None and row["subscriber_status"] is True


def top_ids(n: int) -> list[uuid.UUID]:
    """n user ids above every random one in the shared database and every earlier run's."""
    base = 2**128 - 2**64 + time.time_ns()
    return [uuid.UUID(int=base + i) for i in range(n)]


async def test_a_pass_checks_what_changed_since_the_last_one_and_the_next_slice_of_the_sweep(
    pool: asyncpg.Pool,
) -> None:
    a, b, c = top_ids(3)
    for user in (a, b, c):
        await add_payment(pool, user)
    passes = Passes(window_s=3600, sweep_batch=2, interval_s=0.0, after=uuid.UUID(int=a.int - 1))

    first = await passes.next(pool)  # the first pass: all changed within the window
    passes.done(set())
    assert {a, b, c} <= set(first) and passes.after == b

    second = await passes.next(pool)  # nothing of theirs changed; the sweep's last slice
    passes.done(set())
    assert c in second and a not in second and b not in second
    assert passes.after == uuid.UUID(int=0), "a short slice starts the sweep over"

    await pool.execute(
        "UPDATE payments_history.subscriptions SET updated_at = now() WHERE user_id = $1", a
    )
    third = await passes.next(pool)  # a changed; the sweep is back at the lowest ids
    passes.done(set())
    assert a in third and b not in third and c not in third


async def test_a_change_the_previous_pass_checked_is_not_asked_about_again(
    pool: asyncpg.Pool,
) -> None:
    """A pass looks back one interval before the previous pass began (a transaction may
    commit after that pass read), so it finds the changes that pass checked: each is asked
    about once, and asked again only when it changes again."""
    a, b, c = top_ids(3)
    for user in (a, b, c):
        await add_payment(pool, user)
    below = uuid.UUID(int=a.int - 1)
    passes = Passes(window_s=3600, sweep_batch=2, interval_s=3600, after=below)

    first = await passes.next(pool)
    passes.done(set())
    second = await passes.next(pool)  # a and b within the look-back, unchanged; c: the sweep
    passes.done(set())
    await pool.execute(
        "UPDATE payments_history.subscriptions SET updated_at = now() WHERE user_id = $1", b
    )
    third = await passes.next(pool)

    assert {a, b, c} <= set(first)
    assert c in second and a not in second and b not in second, "checked twice"
    assert b in third, "a change after the check was not checked"


async def test_a_stop_cuts_a_pass_short(pool: asyncpg.Pool, world: OutsideWorld) -> None:
    users = top_ids(3)
    for user in users:
        await add_payment(pool, user)
    below = uuid.UUID(int=users[0].int - 1)
    passes = Passes(window_s=3600, sweep_batch=3, interval_s=0.0, after=below)
    stop = asyncio.Event()
    stop.set()
    async with Outbound(10.0) as client:
        reconciler = AccessReconciler(pool, AuthClient(client, world.url))
        assert await reconciler.run_once(passes, stop) == 0
    assert all(str(user) not in world.roles for user in users), "a stopped pass still called Auth"
