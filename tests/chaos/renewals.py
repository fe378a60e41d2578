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

PERIOD_S, RENEW_BEFORE_S, RETRY_S, GRACE_S = 20, 8, (3,), 6
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


async def bring_to_rest(client: Client, pool: asyncpg.Pool, renewers: list[Outcome]) -> int:
    """Cancel every renewing subscription, then wait for them to end; how many are left."""
    users = [o.user_id for o in renewers if o.status == "succeeded"]
    for user in users:
        for _ in range(5):
            response = await client.api(
                "POST",
                user,
                "/api/v1/subscription/cancel",
                headers={"Idempotency-Key": f"chaos-cancel-{user}"},
            )
            if response is not None and response.status_code in (200, 409):
                break
    while client.now() < client.deadline:
        live = await pool.fetchval(LIVE_SQL, users)
        if live == 0:
            return 0
        await asyncio.sleep(2.0)
    return int(await pool.fetchval(LIVE_SQL, users))
