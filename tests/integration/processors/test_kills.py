"""SIGKILL in the middle: nothing lost, nothing charged twice."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import httpx
from processors_harness import ROOT, Gateway, eventually, read_topic

from processors.runtime import Context
from processors.settings import ProcessorSettings
from schemas import ids
from schemas.messages import PaymentPending


def spawn(module: str, settings: ProcessorSettings, log: Path, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        **{
            k.upper(): str(v)
            for k, v in settings.model_dump(exclude={"jwt_secret", "provider_secret_key"}).items()
        },
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def test_commands_processor_killed_mid_flight_creates_each_payment_once(
    ctx: Context, gateway: Gateway, sandbox: httpx.AsyncClient, tmp_path: Path
) -> None:
    await sandbox.post("/sandbox/faults", json={"latency_ms": 100})
    cmds = [await gateway.new_payment(send=False) for _ in range(150)]
    await asyncio.gather(
        *(gateway.send(ctx.settings.commands_topic, str(c.user_id), c) for c in cmds)
    )
    wanted = [c.payment_id for c in cmds]
    log = tmp_path / "processor-commands.log"
    proc = spawn("processors.commands", ctx.settings, log)

    async def some_pending() -> bool:
        n = await ctx.pool.fetchval(
            "SELECT count(*) FROM payments_history.payments "
            "WHERE id = ANY($1) AND status = 'pending'",
            wanted,
        )
        return 0 < n < len(wanted)

    await eventually(some_pending, within=30)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc = spawn("processors.commands", ctx.settings, log)
    try:

        async def all_pending() -> bool:
            n = await ctx.pool.fetchval(
                "SELECT count(*) FROM payments_history.payments "
                "WHERE id = ANY($1) AND status = 'pending'",
                wanted,
            )
            return n == len(wanted)

        await eventually(all_pending, within=60)
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
    ledger = (await sandbox.get("/sandbox/ledger")).json()
    made = Counter(p["metadata"].get("payment_id") for p in ledger["payments"])
    assert all(made[str(w)] == 1 for w in wanted)
    events = await ctx.pool.fetchval(
        "SELECT count(*) FROM payments_history.outbox WHERE payment_id = ANY($1)", wanted
    )
    assert events == len(wanted)


async def test_relay_killed_between_produce_and_mark_republishes_the_same_message_ids(
    ctx: Context, tmp_path: Path
) -> None:
    topic = ctx.settings.events_topic
    ids_ = []
    async with ctx.pool.acquire() as conn:
        for _ in range(20):
            event = PaymentPending(
                message_id=ids.message_id("PaymentPending", uuid.uuid4()),
                payment_id=uuid.uuid4(),
                user_id=uuid.uuid4(),
                plan_id="monthly",
                amount="499.00",
                currency="RUB",
                external_id=uuid.uuid4(),
                confirmation_url="https://pay/x",
            )
            from common import outbox

            await outbox.append(conn, event, topic=topic, key=str(event.user_id))
            ids_.append(str(event.message_id))
    settings = ctx.settings.model_copy(
        update={"relay_topics": topic, "relay_lock_key": uuid.uuid4().int % 2**62}
    )
    log = tmp_path / "relay.log"
    crashed = spawn("tests.integration.processors.relay_crash", settings, log)
    assert crashed.wait(30) == 3  # produced, then died before marking
    unpublished = await ctx.pool.fetchval(
        "SELECT count(*) FROM payments_history.outbox WHERE topic = $1 AND published_at IS NULL",
        topic,
    )
    assert unpublished == 20
    relay = spawn("processors.relay", settings, log)
    try:

        async def all_marked() -> bool:
            n = await ctx.pool.fetchval(
                "SELECT count(*) FROM payments_history.outbox WHERE "
                "topic = $1 AND published_at IS NULL",
                topic,
            )
            return n == 0

        await eventually(all_marked, within=30)
    finally:
        relay.terminate()
        assert relay.wait(30) == 0
    records = await read_topic(settings, topic, 40)
    seen = Counter(json.loads(r.value)["message_id"] for r in records)
    assert sorted(seen) == sorted(ids_)
    assert set(seen.values()) == {2}
