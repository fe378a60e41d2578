"""CPU and PostgreSQL statements per event of the two consumers' handlers, in this process.

    BILLING_ENV=dev python -m bench.consumer_handlers [--users 300] [--warmup 30] [--concurrency 4]

The consumers as programs (`bench.consumer_cpu`) spend most of their CPU per flow on
Kafka's fetch cycle and fixed costs per second at the rates this box reaches; this isolates
the handlers (docs/performance.md, round 9). Per user, prepared as `bench.consumer_cpu`
does (an Auth sandbox user, a succeeded payment with its subscription): the subscriptions
handler on its PaymentSucceeded (look, Auth grant over HTTP to the stack's sandbox, the
transaction), then the notifications handler on the same event (the send to the Notify
sandbox), `concurrency` at a time, after `warmup` users (prepared statements, connections).
Measured: this process's CPU (`time.process_time`: the handlers, asyncpg, aiohttp, the event
loop), PostgreSQL's from /proc, and the statements each handler sent (asyncpg's query
logger on every connection of the pool). The announcements go to an outbox topic the relay
does not publish; the stack's access reconciler is stopped meanwhile (it would grant first).
With `--marked`, each notification's record is marked as the run loop's pre-read marks a
looked-up batch's (`common.inbox.Checked`; ignored by a tree without it).
"""

import argparse
import asyncio
import inspect
import json
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord

from bench import procstat
from bench.consumer_cpu import paused, prepare
from common import inbox as common_inbox
from common.db import release_as_is
from common.inbox import Origin, PendingInbox
from consumers.notifications import handler as notifications
from consumers.outbound import make_client
from consumers.settings import ConsumerSettings
from consumers.subscriptions import handler as subscriptions
from schemas.messages import Envelope
from tests.chaos.stack import StackUrls
from tests.integration.consumers.consumer_world import NOWHERE

Handle = Callable[[Envelope, Origin], Any]


def counting(sent: list[str]) -> Callable[[asyncpg.Connection], Any]:
    """The pools' init (JSON codecs, as common.db) plus a logger of every statement sent."""

    async def init(conn: asyncpg.Connection) -> None:
        for kind in ("json", "jsonb"):
            await conn.set_type_codec(
                kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )
        conn.add_query_logger(lambda logged: sent.append(logged.query))

    return init


def ours(sent: Sequence[str]) -> int:
    """Statements of the handlers (not asyncpg's own look-ups of types and settings)."""
    mine = ("payments_history", "pg_advisory")
    return sum(1 for q in sent if any(s in q for s in mine) or q.startswith(("BEGIN", "COMMIT")))


def built(build: Callable[..., Handle], *args: Any) -> tuple[Handle, Any]:
    """The handler, with a `Checked` when this tree's `build` takes one."""
    checked_type = getattr(common_inbox, "Checked", None)
    if len(inspect.signature(build).parameters) > len(args) and checked_type is not None:
        checked = checked_type()
        return build(*args, checked), checked
    return build(*args), None


async def drive(handle: Handle, events: Sequence[tuple[Envelope, Origin]], at_once: int) -> None:
    gate = asyncio.Semaphore(at_once)

    async def one(event: Envelope, origin: Origin) -> None:
        async with gate:
            await handle(event, origin)

    await asyncio.gather(*(one(e, o) for e, o in events))


async def measure(
    name: str,
    handle: Handle,
    events: Sequence[tuple[Envelope, Origin]],
    at_once: int,
    sent: list[str],
) -> None:
    pids = procstat.stack_pids()
    sent.clear()
    cpu0, pg0, t0 = time.process_time(), procstat.sample(pids), time.monotonic()
    await drive(handle, events, at_once)
    cpu, seconds = time.process_time() - cpu0, time.monotonic() - t0
    pg = procstat.delta(pg0, procstat.sample(pids))["postgres"].cpu_ms
    n = len(events)
    print(
        f"  {name:24} {cpu * 1000 / n:6.2f} ms CPU, {ours(sent) / n:5.2f} statements,"
        f" PostgreSQL {pg / n:5.2f} ms per event ({n} in {seconds:.1f} s)"
    )


async def run(n: int, warmup: int, at_once: int, marked: bool) -> None:
    settings = ConsumerSettings(consumer_events_topic=NOWHERE)
    sent: list[str] = []
    pool = await asyncpg.create_pool(
        settings.database_url, min_size=1, max_size=10, init=counting(sent), reset=release_as_is
    )
    try:
        flows = await prepare(StackUrls.from_env(), pool, n + warmup)
        events = [(flow[1], _origin(i)) for i, flow in enumerate(flows)]
        async with make_client(settings.consumer_http_timeout_seconds) as client:
            for name, module in (
                ("consumer-subscriptions", subscriptions),
                ("consumer-notifications", notifications),
            ):
                pending = PendingInbox(pool, module.CONSUMER)
                handle, checked = built(module.build, settings, pool, client, pending)
                if marked and checked is not None and module is notifications:
                    for _, origin in events:
                        checked.add(_record(origin))
                await drive(handle, events[:warmup], at_once)
                await measure(name, handle, events[warmup:], at_once, sent)
    finally:
        await pool.close()


def _origin(i: int) -> Origin:
    return Origin("bench.consumer_handlers", 0, i)


def _record(origin: Origin) -> ConsumerRecord:
    o = origin
    return ConsumerRecord(o.topic, o.partition, o.offset, 0, 0, None, b"", None, 0, 0, [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--marked", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    with paused("access-reconciler"):
        asyncio.run(run(args.users, args.warmup, args.concurrency, args.marked))
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
