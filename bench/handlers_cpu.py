"""The processors' handlers' own CPU per message, in process: the A/B of their statements.

    python -m bench.handlers_cpu [--payments 400] [--concurrency 16] [--root DIR] [--group-max 64]

N accepted payments are inserted as the gateway inserts them; then `handlers.create_payment`
runs for each, and, once the provider settled them, `webhooks.handle_notification` for each,
C at once on a pool of C connections to the stack's PostgreSQL. The provider is the unit
tests' in-memory `FakeProvider` (no HTTP) and there is no Kafka: what is measured is the
handler, its statements and asyncpg. A warm-up of 6·C payments runs first (every connection
prepares its statements). Prints this process's CPU (`time.process_time`) and PostgreSQL's
(/proc) per CreatePayment and per webhook, and the statements (round trips) and COMMITs the
pool sent per message. `--group-max` is the group commit's batch (processors/group_commit.py;
1 = every transaction alone; a checkout from before it has none). Events go to a topic the
relay does not publish and are deleted after. `--root` imports the processors from another
checkout (e.g. a `git worktree add` of the old commit), the figures being comparable run to
run; stop the stack's other programs meanwhile so that PostgreSQL serves only this
(docs/performance.md, round 7). Needs DATABASE_URL (the dev default otherwise) and the
stack's `make ps`.
"""

import argparse
import asyncio
import importlib
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench import procstat
from bench.throughput import insert_accepted

TOPIC = "bench.handlers-cpu"


@dataclass
class Deps:
    settings: Any
    provider: Any
    uow: Any


@dataclass
class Statements:
    """Every statement the pool's connections send (one round trip each), and the COMMITs."""

    sent: int = 0
    commits: int = 0

    def log(self, record: asyncpg.connection.LoggedQuery) -> None:
        self.sent += 1
        self.commits += record.query.strip().upper().startswith("COMMIT")

    async def watch(self, conn: asyncpg.Connection) -> None:
        """The pool's `setup`: on every acquire (a logger already there is kept once)."""
        conn.add_query_logger(self.log)


STATEMENTS = Statements()


async def phase(
    postgres: int, items: Sequence[Any], run: Callable[[int, Any], Awaitable[None]], at_once: int
) -> tuple[float, float, float, float]:
    """(this process's, PostgreSQL's) CPU ms per item, statements and COMMITs per item."""
    gate = asyncio.Semaphore(at_once)

    async def one(i: int, item: Any) -> None:
        async with gate:
            await run(i, item)

    sent, commits = STATEMENTS.sent, STATEMENTS.commits
    before, started = procstat.sample({"postgres": postgres}), time.process_time()
    await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    ours = (time.process_time() - started) * 1000
    theirs = procstat.delta(before, procstat.sample({"postgres": postgres}))["postgres"].cpu_ms
    n = len(items)
    return ours / n, theirs / n, (STATEMENTS.sent - sent) / n, (STATEMENTS.commits - commits) / n


def unit_of_work(m: dict[str, Any], pool: asyncpg.Pool, group_max: int) -> Any:
    """The checkout's unit of work; with group commit when it has it and `group_max` > 1."""
    committer = getattr(m["uow"], "GroupCommitter", None)  # a checkout from before has none
    if committer is None:
        return m["uow"].PgUnitOfWork(pool)
    return m["uow"].PgUnitOfWork(pool, committer(pool, group_max, enabled=group_max > 1))


async def flows(
    pool: asyncpg.Pool, m: dict[str, Any], n: int, at_once: int, group_max: int
) -> dict[str, float]:
    settings = m["settings"].ProcessorSettings(
        missing_row_backoff_s=0.05, webhook_row_attempts=3, events_topic=TOPIC
    )
    provider = m["fakes"].FakeProvider()
    deps = Deps(settings, provider, unit_of_work(m, pool, group_max))
    postgres = procstat.stack_pids()["postgres"]
    commands = await insert_accepted(pool, n, m["messages"], m["ids"])
    entry, handlers, webhooks = m["inbox"].InboxEntry, m["handlers"], m["webhooks"]

    async def create(i: int, cmd: Any) -> None:
        where = m["inbox"].Origin("bench", 0, i)
        origin = entry(handlers.CONSUMER, cmd.message_id, cmd.type, where, cmd.payment_id)
        await handlers.create_payment(cmd, origin, deps)

    create_ms = await phase(postgres, commands, create, at_once)
    notes = []
    for obj in list(provider.payments.values()):
        provider.settle(obj.id, m["payments"].PaymentStatus.SUCCEEDED)
        notes.append(
            m["messages"].ProviderNotification(
                message_id=uuid.uuid4(),
                event="payment.succeeded",
                object_id=obj.id,
                payment_external_id=obj.id,
                body={},
            )
        )

    async def notify(i: int, note: Any) -> None:
        where = m["inbox"].Origin("bench", 1, i)
        await webhooks.handle_notification(
            note, entry(webhooks.CONSUMER, note.message_id, note.type, where), deps
        )

    webhook_ms = await phase(postgres, notes, notify, at_once)
    return {
        "create_python_ms": create_ms[0],
        "create_postgres_ms": create_ms[1],
        "create_statements": create_ms[2],
        "create_commits": create_ms[3],
        "webhook_python_ms": webhook_ms[0],
        "webhook_postgres_ms": webhook_ms[1],
        "webhook_statements": webhook_ms[2],
        "webhook_commits": webhook_ms[3],
    }


def modules(root: Path) -> dict[str, Any]:
    """The processors' modules of the checkout at `root` (and its unit tests' fakes)."""
    sys.path[:0] = [str(root), str(root / "tests" / "unit" / "processors")]
    names = {
        "settings": "processors.settings",
        "uow": "processors.uow",
        "inbox": "processors.inbox",
        "handlers": "processors.handlers",
        "webhooks": "processors.webhooks",
        "fakes": "fakes",
        "messages": "schemas.messages",
        "ids": "schemas.ids",
        "payments": "domain.payments",
        "db": "common.db",
    }
    return {key: importlib.import_module(name) for key, name in names.items()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    m = modules(args.root)
    settings = m["settings"].ProcessorSettings()
    size = args.concurrency
    pool = await m["db"].create_pool(settings, min_size=size, max_size=size, setup=STATEMENTS.watch)
    try:
        await flows(pool, m, max(6 * size, 64), size, args.group_max)  # warm-up
        load = os.getloadavg()[0]
        figures = await flows(pool, m, args.payments, size, args.group_max)
        await pool.execute("DELETE FROM payments_history.outbox WHERE topic = $1", TOPIC)
    finally:
        await pool.close()
    load_after = os.getloadavg()[0]
    return {
        "root": str(args.root),
        "group_max": args.group_max,
        "load": [load, load_after],
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--group-max", type=int, default=64, help="1: each body alone")
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
