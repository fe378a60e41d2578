"""Auth down for 30 s while roles are granted and revoked (issue 9, CONTRACT §2a, §5).

Half the outage Auth is stopped (connection refused), half it answers 503 (its fault hook).
Payments succeed and refunds end subscriptions meanwhile. Afterwards every user's role is
right and nothing was dead-lettered: a transient Auth failure makes that user's lane wait
and retry, it is never given up on.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka.partitioner import murmur2

from schemas.topics import EVENTS, TOPICS
from tests.stack.conftest import Stack, User, new_user
from tests.stack.flows import GOOD_CARD, confirm, paid, pay, refund, roles, wait_for_status
from tests.stack.outage import (
    auth_calls,
    auth_healthy,
    ctl,
    dead_letters_since,
    dlq_end_offsets,
)
from tests.stack.subscription_flows import until

pytestmark = [pytest.mark.e2e, pytest.mark.disruptive(order=2)]

USERS_PER_SIDE = 3
HALF_OUTAGE_S = 15


def _apart(count: int) -> list[uuid.UUID]:
    """`count` user ids whose events land in distinct partitions of the events topic (keyed
    by user, Kafka's default murmur2 partitioner). The subscriptions consumer works a
    partition in order: a revoke queued behind a grant that waits for Auth would reach Auth
    only after the outage, and the test would not see revokes meet it (it failed so)."""
    ids: list[uuid.UUID] = []
    used: set[int] = set()
    while len(ids) < count:
        candidate = uuid.uuid4()
        partition = (murmur2(str(candidate).encode()) & 0x7FFFFFFF) % TOPICS[EVENTS]
        if partition not in used:
            used.add(partition)
            ids.append(candidate)
    return ids


async def _awaiting_card(http: httpx.AsyncClient, stack: Stack, user: User) -> dict[str, Any]:
    payment = await pay(http, stack, user)
    return await wait_for_status(
        http, stack, user, payment["payment_id"], lambda p: p["confirmation_url"] is not None
    )


async def _subscribed(http: httpx.AsyncClient, stack: Stack, user: User) -> dict[str, Any]:
    payment = await paid(http, stack, user)
    await until(lambda: roles(http, stack, user), lambda r: "subscriber" in r, within=30)
    return payment


async def _refunded(
    http: httpx.AsyncClient, stack: Stack, user: User, payment: dict[str, Any]
) -> None:
    response = await refund(http, stack, user, payment["payment_id"])
    assert response.status_code == 202, response.text


async def _auth_down(
    http: httpx.AsyncClient, stack: Stack, during: list[Any], half: float = HALF_OUTAGE_S
) -> None:
    """Stopped for `half` s (the `during` steps run as it goes down), then `half` s of 503.

    The 503s are set first: they are kept across the restart, so Auth never answers a role
    call in between, and every grant or revoke still waiting when it is back is retried into
    them (which leaves a failed call in Auth's log: the evidence the outage was met)."""
    response = await http.post(f"{stack.auth}/sandbox/faults", json={"error_rate": 1.0})
    assert response.status_code == 200, response.text
    loop = asyncio.get_running_loop()
    try:
        await ctl("stop", "auth")
        for step in during:
            await step
        await asyncio.sleep(half)
    finally:
        await ctl("start", "auth")
        back = loop.time()
        await auth_healthy(http, stack)
        await asyncio.sleep(max(0.0, half - (loop.time() - back)))
        await http.delete(f"{stack.auth}/sandbox/faults")


async def _failed_role_calls(http: httpx.AsyncClient, stack: Stack, users: list[User]) -> set[str]:
    calls = [c for user in users for c in await auth_calls(http, stack, user)]
    return {c["method"] for c in calls if c["status"] == 503 and "/roles" in c["path"]}


@pytest.mark.timeout(150)
async def test_auth_down_30s_during_grants_and_revokes_leaves_every_role_right_and_no_dlq(
    http: httpx.AsyncClient, stack: Stack
) -> None:
    started = datetime.now(UTC)
    dlq_before = await dlq_end_offsets()
    users = [await new_user(http, stack, user_id) for user_id in _apart(2 * USERS_PER_SIDE)]
    granting, revoking = users[:USERS_PER_SIDE], users[USERS_PER_SIDE:]
    to_pay = [await _awaiting_card(http, stack, user) for user in granting]
    bought = [await _subscribed(http, stack, user) for user in revoking]

    refunds = [_refunded(http, stack, u, p) for u, p in zip(revoking, bought, strict=True)]
    await _auth_down(http, stack, [*(confirm(http, stack, p, GOOD_CARD) for p in to_pay), *refunds])

    # the outage was met by grants and by revokes, not slipped past:
    assert await _failed_role_calls(http, stack, granting + revoking) >= {"POST", "DELETE"}
    for user in granting:
        await until(lambda u=user: roles(http, stack, u), lambda r: r == ["subscriber"], within=60)
    for user in revoking:
        await until(lambda u=user: roles(http, stack, u), lambda r: r == [], within=60)
    assert await dead_letters_since(started) == []
    assert await dlq_end_offsets() == dlq_before
