"""SIGKILL of the scheduler, processor-commands and consumer-subscriptions at random moments
while subscriptions renew on a plan of seconds (issue 9, CONTRACT §2a): still exactly one
provider charge per (subscription, period), every period we credit paid by exactly one charge,
and the role held exactly while the subscription is active.

The short run is part of `make test` (40 s of kills, ≈50 s in all; 30 s left one renewal a
user, the bare minimum the last assertion asks for); `make chaos-renewals` is the long one
(RENEWAL_KILLS_DURATION / _USERS / _KILLS / _SEED override either).
"""

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from common.settings import Settings
from tests.chaos.invariants import Truth, one_charge_per_period
from tests.chaos.killer import Killer, make_schedule
from tests.chaos.stack import StackNotRunning, process_kind, running_processes, stack_missing
from tests.stack.conftest import Stack, User, new_user
from tests.stack.flows import GOOD_CARD, roles, subscription
from tests.stack.subscription_flows import charges, short_plan, subscribe, until

pytestmark = [pytest.mark.e2e, pytest.mark.disruptive(order=2)]

VICTIMS = ("scheduler", "processor-commands", "consumer-subscriptions")
DURATION = float(os.environ.get("RENEWAL_KILLS_DURATION", "40"))
USERS = int(os.environ.get("RENEWAL_KILLS_USERS", "5"))
KILLS = int(os.environ.get("RENEWAL_KILLS_KILLS", "12"))
SEED = int(os.environ.get("RENEWAL_KILLS_SEED", "20261203"))
LIVE = {"active", "past_due"}

_RENEWAL_PERIODS = """
SELECT s.id::text AS subscription_id, p.number FROM payments_history.subscription_periods p
JOIN payments_history.subscriptions s ON s.id = p.subscription_id
WHERE s.user_id = ANY($1::uuid[]) AND p.kind = 'renewal'
"""
_OPEN_RENEWALS = """
SELECT count(*) FROM payments_history.payments
WHERE user_id = ANY($1::uuid[]) AND subscription_id IS NOT NULL
  AND status IN ('accepted', 'pending')
"""


async def _query(sql: str, users: list[User]) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(Settings().database_url)
    try:
        return list(await conn.fetch(sql, [u.id for u in users]))
    finally:
        await conn.close()


def _victims_running() -> None:
    try:
        kinds = {process_kind(name) for name in running_processes(Path.cwd())}
    except StackNotRunning as exc:
        stack_missing(f"no supervised stack to kill processes in: {exc}")
    missing = set(VICTIMS) - kinds
    assert not missing, f"not running, nothing to kill: {missing}"


async def _cancel_all(http: httpx.AsyncClient, stack: Stack, users: list[User]) -> None:
    """Renewing subscriptions never go quiet: stop them, as a person would, to compare."""
    for user in users:
        headers = user.headers | {"Idempotency-Key": f"renewal-kills-cancel-{user.id}"}
        response = await http.post(f"{stack.gateway}/api/v1/subscription/cancel", headers=headers)
        assert response.status_code in (200, 409), response.text


async def _quiet(users: list[User]) -> None:
    """No renewal charge of these users is still on its way to a final status."""
    await until(lambda: _query(_OPEN_RENEWALS, users), lambda rows: rows[0][0] == 0, within=90)


async def _ledger(http: httpx.AsyncClient, stack: Stack, users: list[User]) -> list[dict[str, Any]]:
    return [row for user in users for row in await charges(http, stack, user)]


async def _role_follows_status(http: httpx.AsyncClient, stack: Stack, user: User) -> None:
    async def both() -> tuple[bool, bool]:
        sub = await subscription(http, stack, user)
        return sub["status"] in LIVE, "subscriber" in await roles(http, stack, user)

    await until(both, lambda pair: pair[0] == pair[1], within=30)


@pytest.mark.timeout(DURATION + 240)
async def test_kills_during_renewals_leave_one_charge_per_subscription_period(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    _victims_running()
    plan = await short_plan(period=12, renew_before=5, retry=(3,), grace=4)
    users = [await new_user(http, stack) for _ in range(USERS)]
    for user in users:
        await subscribe(http, stack, user, plan, GOOD_CARD)
    killer = Killer(make_schedule(SEED, VICTIMS, KILLS, DURATION, every_kind=True))
    started = asyncio.get_running_loop().time()
    await asyncio.gather(killer.run(started), asyncio.sleep(DURATION))
    await _cancel_all(http, stack, users)
    await _quiet(users)

    assert set(killer.kills) == set(VICTIMS), killer.log
    print(f"renewal kills: {dict(killer.kills)}", *killer.log, sep="\n")
    ledger = await _ledger(http, stack, users)
    taken = Counter(
        (p["metadata"]["subscription_id"], int(p["metadata"]["period"]))
        for p in ledger
        if p["metadata"].get("subscription_id") and p["status"] == "succeeded"
    )
    credited = {(r["subscription_id"], r["number"]) for r in await _query(_RENEWAL_PERIODS, users)}
    assert one_charge_per_period(Truth(ledger_payments=ledger)).violations == []
    assert set(taken) == credited, f"charged {sorted(taken)}, credited {sorted(credited)}"
    assert len(credited) >= USERS, f"too few renewals to prove anything: {sorted(credited)}"
    print(f"{len(credited)} renewal periods credited, {sum(taken.values())} charges")
    for user in users:
        await _role_follows_status(http, stack, user)
