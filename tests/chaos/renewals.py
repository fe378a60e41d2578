"""Renewals under chaos: a short plan for the run, and how the run brings them to rest.

Some users pay with `auto_renew` on a plan of seconds, so renewals (and their provider
charges) happen while processes are killed. Subscriptions that renew never go quiet, so
after the chaos phase every renewing user cancels (as a person would) and the run waits
until those subscriptions have ended; then the invariants are checked — among them one
provider charge per (subscription, period) and the role held exactly while active.
"""

import asyncio
import uuid
from decimal import Decimal

import asyncpg

from billing_cli.plans import PlanSpec, upsert
from common.settings import Settings
from tests.chaos.client import Client
from tests.chaos.workload import Outcome, Price

PERIOD_S, RENEW_BEFORE_S, RETRY_S, GRACE_S = 12, 5, (3,), 4  # as tests/stack/test_renewal_kills.py
POLL_S = 0.5
LIVE_SQL = """SELECT count(*) FROM payments_history.subscriptions
WHERE user_id = ANY($1::uuid[]) AND status IN ('active', 'past_due')"""


async def short_plan(database_url: str) -> Price:
    plan_id = f"chaos-{uuid.uuid4().hex[:8]}"
    spec = PlanSpec(
        plan_id,
        "chaos renewals",
        Decimal("10.00"),
        "RUB",
        PERIOD_S,
        RENEW_BEFORE_S,
        RETRY_S,
        GRACE_S,
    )
    await upsert(Settings(database_url=database_url), spec)
    return Price(plan_id, spec.amount, spec.currency)


async def cancel(client: Client, user: uuid.UUID) -> None:
    """The user cancels auto-renewal (the subscription ends with its period); one key per
    user, so asking again is the same request."""
    for _ in range(5):
        response = await client.api(
            "POST",
            user,
            "/api/v1/subscription/cancel",
            headers={"Idempotency-Key": f"chaos-cancel-{user}"},
        )
        if response is not None and response.status_code in (200, 409):
            return


async def cancel_after_chaos(client: Client, outcome: Outcome, chaos_ends: float) -> None:
    """A renewing user who paid cancels as soon as the chaos phase is over, so the wait
    for its last period to end overlaps the other clients finishing (it came after them,
    ~25 s of the short run). The renewals during the chaos phase are the same."""
    if outcome.status == "succeeded":
        await asyncio.sleep(max(0.0, chaos_ends - client.now()))
        await cancel(client, outcome.user_id)


async def bring_to_rest(client: Client, pool: asyncpg.Pool, renewers: list[Outcome]) -> int:
    """Cancel every renewing subscription, then wait for them to end; how many are left."""
    users = [o.user_id for o in renewers if o.status == "succeeded"]
    for user in users:
        await cancel(client, user)
    while client.now() < client.deadline:
        live = await pool.fetchval(LIVE_SQL, users)
        if live == 0:
            return 0
        await asyncio.sleep(POLL_S)
    return int(await pool.fetchval(LIVE_SQL, users))
