"""CPU ms per flow of the two event consumers, from /proc, at a fixed event rate.

    python -m bench.consumer_cpu [--users 150] [--rate 10] [--flows 0]

A short, repeatable A/B probe for the consumers (docs/performance.md, round 5). For each of
N users: a token from the Auth sandbox and a succeeded payment with its subscription in
PostgreSQL (as the processors leave them; not measured), then, measured, the two events a
flow puts on `billing.events.v1` for the consumers — PaymentPending and PaymentSucceeded —
published at `rate` users a second, the third (SubscriptionActivated) coming from the
subscriptions consumer through the outbox as in a real flow. The run ends when both
consumers' inbox rows for the 3·N messages are there; it prints each program's CPU per
user (= per flow: the consumers see exactly a flow's three events, grant in Auth and send a
notification) and the load average. The stack's access reconciler is stopped for the run
and started again after it: it grants the role of every live subscription it finds, so it
would pre-empt the consumer for the prepared users (no Auth call, no announcement, and the
run waits 120 s for SubscriptionActivated rows that never come). A fixed rate keeps the
fetched batches the same size between the two trees compared; `--flows N` drives N full
flows instead (bench.full_flow: everything, rate as fast as the box goes).
"""

import argparse
import asyncio
import contextlib
import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer

from bench import procstat
from bench.full_flow import drive
from schemas import ids, topics
from schemas.codec import encode, encode_key
from schemas.messages import Envelope
from tests.chaos.stack import StackUrls
from tests.integration.consumers.consumer_world import add_payment, pending, succeeded
from tests.stack.conftest import new_user, stack_from_env

SHOWN = ("consumer-subscriptions", "consumer-notifications", "postgres", "kafka", "outbox-relay")
CONSUMERS = ("consumer-subscriptions", "consumer-notifications")


async def prepare(urls: StackUrls, pool: asyncpg.Pool, n: int) -> list[list[Envelope]]:
    """Per user, the events of a flow that reach the consumers from the processors."""
    stack = stack_from_env()
    flows: list[list[Envelope]] = []
    async with httpx.AsyncClient(timeout=10) as http:
        for _ in range(n):
            user = (await new_user(http, stack)).id
            payment = await add_payment(pool, user)
            flows.append(
                [
                    pending(user, payment, ids.message_id("PaymentPending", payment)),
                    succeeded(user, payment),
                ]
            )
    return flows


async def inbox_rows(pool: asyncpg.Pool, users: list[uuid.UUID]) -> int:
    return await pool.fetchval(
        "SELECT count(*) FROM payments_history.inbox i WHERE i.consumer = ANY($1::text[])"
        " AND (i.payment_id IN (SELECT id FROM payments_history.payments"
        "      WHERE user_id = ANY($2::uuid[])))",
        list(CONSUMERS),
        users,
    )


async def publish(urls: StackUrls, flows: list[list[Envelope]], rate: float) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=urls.kafka, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        started = time.monotonic()
        for i, events in enumerate(flows):
            await asyncio.sleep(max(started + i / rate - time.monotonic(), 0))
            for event in events:
                key = encode_key(event.user_id)  # type: ignore[attr-defined]
                await producer.send_and_wait(topics.EVENTS, encode(event), key=key)
    finally:
        await producer.stop()


@contextlib.contextmanager
def paused(program: str) -> Iterator[None]:
    """`program` of the stack stopped for the block (if it was running), started after it."""
    ctl = [str(procstat.ROOT / "infra" / "supervisor" / "ctl")]
    stopped = subprocess.run([*ctl, "stop", program], capture_output=True).returncode == 0
    try:
        yield
    finally:
        if stopped:
            subprocess.run([*ctl, "start", program], capture_output=True, check=False)


async def events_run(n: int, rate: float, settle: float) -> tuple[int, dict[str, procstat.Sample]]:
    urls, pids = StackUrls.from_env(), procstat.stack_pids()
    pool = await asyncpg.create_pool(urls.database, min_size=1, max_size=2)
    try:
        flows = await prepare(urls, pool, n)
        users = [events[0].user_id for events in flows]  # type: ignore[attr-defined]
        before = procstat.sample(pids)
        await publish(urls, flows, rate)
        deadline = time.monotonic() + 120
        while await inbox_rows(pool, users) < 6 * n and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.5)  # polling PostgreSQL
        await asyncio.sleep(settle)
        done = await inbox_rows(pool, users)
        print(f"inbox rows {done} of {6 * n}")
        return n, procstat.delta(before, procstat.sample(pids))
    finally:
        await pool.close()


async def flows_run(n: int, settle: float) -> tuple[int, dict[str, procstat.Sample]]:
    pids = procstat.stack_pids()
    before = procstat.sample(pids)
    done = await drive(stack_from_env(), n, 50, 170)
    await asyncio.sleep(settle)
    print(f"flows {done.flows} done, {done.failed} failed, {done.seconds:.1f} s")
    return done.flows, procstat.delta(before, procstat.sample(pids))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--rate", type=float, default=10.0, help="users (flows) a second")
    parser.add_argument("--flows", type=int, default=0, help="full flows instead of events")
    parser.add_argument("--settle", type=float, default=2.0)
    args = parser.parse_args()
    load0 = os.getloadavg()[0]
    if args.flows:
        n, spent = asyncio.run(flows_run(args.flows, args.settle))
    else:
        with paused("access-reconciler"):
            n, spent = asyncio.run(events_run(args.users, args.rate, args.settle))
    print(f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    for name in SHOWN:
        print(f"  {name:24} {spent[name].cpu_ms / max(n, 1):7.2f} ms CPU per flow")


if __name__ == "__main__":
    main()
