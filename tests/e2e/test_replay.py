"""Replaying every topic from offset 0 into the running system changes nothing (CONTRACT §3).

After a workload is quiet: snapshot the ledger, Auth's role changes, the notifications and
a hash of our database rows; rewind every consumer group to the earliest offset with Kafka's
own tool (the programs stopped first, started after); wait for lag 0; compare.
"""

import asyncio
import hashlib
import json
from typing import Any

import asyncpg
import httpx
import pytest

from billing_cli import replay
from billing_cli.lag import group_lag, wait_for_zero_lag
from tests.chaos.stack import CONSUMER_GROUPS, StackUrls, stack_missing, supervisorctl
from tests.e2e.fixtures import ledger, new_user
from tests.stack.conftest import Stack, User
from tests.stack.flows import DECLINED_CARD, confirm, eventually, paid, pay, refund, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.disruptive(order=1)]
STATE_SQL = """
SELECT 'p' AS kind, id::text, status, refunded_amount::text AS amount, refunded::text AS flag
  FROM payments_history.payments WHERE user_id = ANY($1::uuid[])
UNION ALL SELECT 'r', id::text, status, amount::text, coalesce(external_id::text, '')
  FROM payments_history.refunds WHERE user_id = ANY($1::uuid[])
UNION ALL SELECT 's', user_id::text, subscriber_status::text, coalesce(expires_at::text, ''),
  coalesce(payment_id::text, '') FROM payments_history.subscribers WHERE user_id = ANY($1::uuid[])
UNION ALL SELECT 'o', message_id::text, type, coalesce(payment_id::text, ''), ''
  FROM payments_history.outbox WHERE key = ANY($2::text[])
ORDER BY 1, 2"""


async def _workload(http: httpx.AsyncClient, stack: Stack) -> list[User]:
    """Paid, paid+refunded (twice), declined: every kind of event."""
    users = [await new_user(http, stack) for _ in range(4)]
    payments = [await paid(http, stack, u) for u in users[:3]]
    for user, payment in zip(users[1:3], payments[1:3], strict=True):
        response = await refund(http, stack, user, payment["payment_id"])
        assert response.status_code == 202, response.text
        await wait_for_status(
            http, stack, user, payment["payment_id"], lambda p: p["refunded_amount"] != "0.00"
        )
    declined = await pay(http, stack, users[3])
    declined = await wait_for_status(
        http, stack, users[3], declined["payment_id"], lambda p: p["confirmation_url"]
    )
    await confirm(http, stack, declined, DECLINED_CARD)
    await wait_for_status(
        http, stack, users[3], declined["payment_id"], lambda p: p["status"] != "pending"
    )
    return users


async def _snapshot(
    http: httpx.AsyncClient, stack: Stack, db: asyncpg.Pool, users: list[User]
) -> dict[str, Any]:
    book = await ledger(http, stack)
    calls = (await http.get(f"{stack.auth}/api/v1/calls")).json()["items"]
    notes = {}
    for user in users:
        response = await http.get(
            f"{stack.notify}/api/v1/notifications", params={"user_id": str(user.id)}
        )
        notes[str(user.id)] = sorted(
            n["dedup_key"] for n in response.json()["items"] if not n["duplicate"]
        )
    ids_ = [u.id for u in users]
    rows = await db.fetch(STATE_SQL, ids_, [str(i) for i in ids_])
    state = hashlib.sha256(json.dumps([list(r.values()) for r in rows]).encode()).hexdigest()
    return {
        "provider payments": len(book["payments"]),
        "provider refunds": len(book["refunds"]),
        "captured": book["captured_total"],
        "refunded": book["refunded_total"],
        "role changes": sum(
            1 for c in calls if c["method"] in ("POST", "DELETE") and "/roles" in c["path"]
        ),
        "notifications": notes,
        "state": state,
    }


async def _quiet(
    http: httpx.AsyncClient, stack: Stack, db: asyncpg.Pool, users: list[User]
) -> dict[str, Any]:
    """A snapshot that stays the same for a few seconds: nothing left in flight."""
    last = await _snapshot(http, stack, db, users)
    for _ in range(30):
        await asyncio.sleep(3)
        now = await _snapshot(http, stack, db, users)
        if now == last:
            return now
        last = now
    return last


async def _rewind_every_group() -> None:
    """Every group's program stopped, every group reset (side by side: one JVM each), every
    program started again: one stop and one start for all (one group at a time took ~6 s
    each of stop, tool and start)."""
    programs = sorted(set(CONSUMER_GROUPS.values()))
    bootstrap = StackUrls.from_env().kafka
    assert supervisorctl("stop", *programs).returncode == 0
    try:
        await asyncio.gather(
            *(
                asyncio.to_thread(
                    replay.reset_offsets,
                    replay.reset_command(bootstrap, group, None, replay.Target(), execute=True),
                )
                for group in CONSUMER_GROUPS
            )
        )
    finally:
        assert supervisorctl("start", *programs).returncode == 0


@pytest.mark.timeout(600)
async def test_replaying_every_topic_from_zero_changes_nothing(
    http: httpx.AsyncClient, stack: Stack, db: asyncpg.Pool, urls: StackUrls
) -> None:
    if supervisorctl("pid").returncode != 0:
        stack_missing("the stack's supervisord is not running here (make up)")
    users = await _workload(http, stack)
    await eventually(lambda: _lagging(urls), lambda lag: not any(lag.values()), within=120)
    before = await _quiet(http, stack, db, users)

    await _rewind_every_group()
    lag = await wait_for_zero_lag(urls.kafka, CONSUMER_GROUPS, within=300, every=0.5)
    after = await _quiet(http, stack, db, users)

    assert not any(lag.values()), f"the replay did not finish: {lag}"
    assert after == before


async def _lagging(urls: StackUrls) -> dict[str, int]:
    return await group_lag(urls.kafka, CONSUMER_GROUPS)


def test_every_groups_program_is_known() -> None:
    """The replay stops the right program: each group maps to a supervisord program name."""
    assert set(CONSUMER_GROUPS.values()) == {
        "processor-commands",
        "processor-webhooks",
        "consumer-subscriptions",
        "consumer-notifications",
    }
