"""Group commit (processors/group_commit.py) killed with SIGKILL at each point of a batch,
then restarted: every payment moved once, one event each, one inbox row each, no
subscription period twice, no provider charge twice; a record is finished (its offset
committable) only after its batch's COMMIT.

The short version (in `make test`) kills each processor at one point; `make test-group-kills`
runs every point (`begin`, `body:1`, `flushed`, `committed`) for both.
"""

import asyncio
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from processors_harness import Gateway, eventually
from test_kills import spawn

from billing_cli.lag import partition_lag
from processors import commands, webhooks
from processors.runtime import Context
from schemas import ids
from schemas.messages import CreatePayment

N = 6
POINTS = ["begin", "body:1", "flushed", "committed"]
ALL = os.environ.get("GROUP_KILLS") == "all"
WEBHOOK_POINTS = POINTS if ALL else ["flushed"]
COMMAND_POINTS = POINTS if ALL else ["body:1"]


def killed_at(module: str, at: str, ctx: Context, log: Path) -> None:
    crashed = spawn(
        "tests.integration.processors.group_crash",
        ctx.settings,
        log,
        GROUP_CRASH_AT=at,
        GROUP_CRASH_PROGRAM=module,
    )
    try:
        code = crashed.wait(45)
    except subprocess.TimeoutExpired:
        crashed.kill()
        raise AssertionError(f"no batch of 2+ bodies reached {at!r}") from None
    assert code == -signal.SIGKILL, f"exited {code}, not killed at {at!r}"


async def count_in(ctx: Context, wanted: list[UUID], status: str) -> int:
    n: int = await ctx.pool.fetchval(
        "SELECT count(*) FROM payments_history.payments WHERE id = ANY($1) AND status = $2",
        wanted,
        status,
    )
    return n


async def moved_by_the_kill(ctx: Context, wanted: list[UUID], status: str, at: str) -> None:
    """Killed after COMMIT: the batch (2+) moved; before it: not all (the batch did not)."""
    moved = await count_in(ctx, wanted, status)
    if at == "committed":
        assert moved >= 2
    else:
        assert moved < N


async def until_all(
    ctx: Context, wanted: list[UUID], status: str, module: str, group: str, log: Path
) -> None:
    """Restart `module` until every payment is in `status` and `group` has committed every
    record of its topic (the redelivered ones handled or skipped)."""
    proc = spawn(module, ctx.settings, log)
    try:

        async def done() -> bool:
            if await count_in(ctx, wanted, status) != len(wanted):
                return False
            rows = await partition_lag(ctx.settings.kafka_bootstrap_servers, [group])
            return any(r.committed is not None for r in rows) and all(r.lag == 0 for r in rows)

        await eventually(done, within=60)
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


async def events_of(ctx: Context, wanted: list[UUID]) -> Counter[tuple[UUID, str]]:
    rows = await ctx.pool.fetch(
        "SELECT payment_id, type FROM payments_history.outbox WHERE payment_id = ANY($1)", wanted
    )
    return Counter((r["payment_id"], r["type"]) for r in rows)


async def inbox_rows(ctx: Context, consumer: str, message_ids: list[UUID]) -> Counter[UUID]:
    rows = await ctx.pool.fetch(
        "SELECT message_id FROM payments_history.inbox WHERE consumer = $1 "
        "AND message_id = ANY($2)",
        consumer,
        message_ids,
    )
    return Counter(r["message_id"] for r in rows)


async def charges(sandbox: httpx.AsyncClient, wanted: list[UUID]) -> Counter[str]:
    ledger = (await sandbox.get("/sandbox/ledger")).json()
    return Counter(p["metadata"].get("payment_id") for p in ledger["payments"])


async def create(ctx: Context, gateway: Gateway, n: int) -> list[CreatePayment]:
    cmds = [await gateway.new_payment(send=False) for _ in range(n)]
    await asyncio.gather(
        *(gateway.send(ctx.settings.commands_topic, str(c.user_id), c) for c in cmds)
    )
    return cmds


@pytest.mark.parametrize("at", COMMAND_POINTS)
async def test_commands_group_killed_creates_each_payment_once(
    ctx: Context, gateway: Gateway, sandbox: httpx.AsyncClient, tmp_path: Path, at: str
) -> None:
    cmds = await create(ctx, gateway, N)
    wanted = [c.payment_id for c in cmds]
    log = tmp_path / "processor-commands.log"
    killed_at("commands", at, ctx, log)
    await moved_by_the_kill(ctx, wanted, "pending", at)
    group = ctx.settings.commands_group
    await until_all(ctx, wanted, "pending", "processors.commands", group, log)
    made = await charges(sandbox, wanted)
    assert [made[str(w)] for w in wanted] == [1] * N
    events = await events_of(ctx, wanted)
    assert sorted(events.values()) == [1] * N
    assert {t for _, t in events} == {"PaymentPending"}
    recorded = await inbox_rows(ctx, commands.handlers.CONSUMER, [c.message_id for c in cmds])
    assert sorted(recorded.values()) == [1] * N


async def pending_payments(
    ctx: Context, gateway: Gateway, sandbox: httpx.AsyncClient
) -> tuple[list[UUID], list[tuple[str, dict[str, object]]]]:
    """N payments taken to `pending` by the commands processor and confirmed at the
    sandbox: their ids and (provider id, provider object) to notify."""
    cmds = await create(ctx, gateway, N)
    wanted = [c.payment_id for c in cmds]
    loop = commands.build_loop(ctx)
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:

        async def all_pending() -> bool:
            return await count_in(ctx, wanted, "pending") == N

        await eventually(all_pending, within=60)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    rows = await ctx.pool.fetch(
        "SELECT external_id FROM payments_history.payments WHERE id = ANY($1)", wanted
    )
    card = {"card_number": "4242424242424242"}
    confirmed = []
    for r in rows:
        external_id = str(r["external_id"])
        url = f"/sandbox/payments/{external_id}/confirm"
        confirmed.append((external_id, (await sandbox.post(url, json=card)).json()))
    return wanted, confirmed


@pytest.mark.parametrize("at", WEBHOOK_POINTS)
async def test_webhooks_group_killed_moves_each_payment_once(
    ctx: Context, gateway: Gateway, sandbox: httpx.AsyncClient, tmp_path: Path, at: str
) -> None:
    wanted, confirmed = await pending_payments(ctx, gateway, sandbox)
    for external_id, obj in confirmed:
        await gateway.webhook("payment.succeeded", obj, external_id)
    notes = [
        ids.message_id("ProviderNotification", str(o["id"]), "payment.succeeded", "succeeded")
        for _, o in confirmed
    ]
    log = tmp_path / "processor-webhooks.log"
    killed_at("webhooks", at, ctx, log)
    await moved_by_the_kill(ctx, wanted, "succeeded", at)
    group = ctx.settings.webhooks_group
    await until_all(ctx, wanted, "succeeded", "processors.webhooks", group, log)
    made = await charges(sandbox, wanted)
    assert [made[str(w)] for w in wanted] == [1] * N
    events = await events_of(ctx, wanted)
    assert [events[(w, "PaymentSucceeded")] for w in wanted] == [1] * N
    assert set(events.values()) == {1}  # no event of any kind twice
    recorded = await inbox_rows(ctx, webhooks.CONSUMER, notes)
    assert sorted(recorded.values()) == [1] * N
    periods = await ctx.pool.fetch(
        "SELECT payment_id, count(*) AS n FROM payments_history.subscription_periods "
        "WHERE payment_id = ANY($1) GROUP BY payment_id",
        wanted,
    )
    assert sorted((r["payment_id"], r["n"]) for r in periods) == sorted((w, 1) for w in wanted)
