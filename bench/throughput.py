"""Throughput of the commands processor: accepted → pending per second.

    .venv/bin/python -m bench.throughput [--payments 2000] [--baseline-payments 200]

Starts the sandbox provider (latency_ms=50) on a free port, and for each mode — key-level
parallelism (max_in_flight=256) and one at a time (max_in_flight=1), the same code — inserts
N accepted payments (distinct users), produces their CreatePayment to a fresh topic *before*
anything is timed, starts `python -m processors.commands` as a subprocess and waits until
every row is pending.

The rate is the processor's drain rate: (N - 1) / (last row pending - first row pending), by
the database's own `updated_at`, so neither the load generator, nor the subprocess start-up
and consumer-group join (shown apart as "start s"), nor this script's polling is in it.
Latency is per payment from its row being inserted (before its command is produced) to it
being pending, so with everything queued up front it is mostly queueing. Peak RSS is VmHWM
of each Python process. Needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from domain.payments import PaymentStatus
from schemas import ids
from schemas import messages as schema_messages
from schemas.codec import encode

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    mode: str
    payments: int
    seconds: float
    startup_s: float
    p50_ms: float
    p99_ms: float
    rss_mb: dict[str, float]
    cpu_ms: float = 0.0  # the processor's CPU per payment while draining (start-up left out)

    @property
    def rate(self) -> float:
        return (self.payments - 1) / self.seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_ms(pid: int) -> float:
    """utime + stime of a live process, in ms."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def start_provider(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    url = f"http://127.0.0.1:{free_port()}"
    env = {
        **os.environ,
        "PROVIDER_URL": url,
        "PROVIDER_DB_PATH": str(workdir / "p.sqlite3"),
        "PROVIDER_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/nowhere",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.provider"],
        cwd=ROOT,
        env=env,
        stdout=(workdir / "provider.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(200):
        try:
            httpx.post(
                f"{url}/sandbox/faults", json={"latency_ms": 50}, timeout=1
            ).raise_for_status()
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the sandbox provider did not start")


async def insert_accepted(
    pool: asyncpg.Pool, n: int, messages: Any = schema_messages, id_rules: Any = ids
) -> list[Any]:
    """N accepted payments of distinct users, inserted as the gateway inserts them, and the
    CreatePayment of each. `messages` and `id_rules` are the schema modules to build them
    with (bench.handlers_cpu passes another checkout's)."""
    rows, commands = [], []
    for _ in range(n):
        user_id, key = uuid.uuid4(), uuid.uuid4().hex
        pid = id_rules.payment_id(user_id, key)
        rows.append((pid, user_id, key))
        commands.append(
            messages.CreatePayment(
                message_id=id_rules.message_id("CreatePayment", pid),
                payment_id=pid,
                user_id=user_id,
                plan_id="monthly",
                amount=Decimal("499.00"),
                currency="RUB",
                return_url="https://b/",
            )
        )
    await pool.executemany(
        """INSERT INTO payments_history.payments (id, user_id, plan_id, amount, currency,
           idempotency_key, request_fingerprint, return_url)
           VALUES ($1, $2, 'monthly', 499.00, 'RUB', $3, 'bench', 'https://b/')""",
        rows,
    )
    return commands


async def seed(pool: asyncpg.Pool, bootstrap: str, topic: str, n: int) -> list[uuid.UUID]:
    cmds = await insert_accepted(pool, n)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, encode(c), key=str(c.user_id).encode()) for c in cmds]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [c.payment_id for c in cmds]


async def run_mode(mode: str, in_flight: int, n: int, provider_url: str, workdir: Path) -> Figures:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    dsn = os.environ.get("DATABASE_URL", "postgresql://billing:billing@127.0.0.1:55432/billing")
    topic = f"bench.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=12, replication_factor=1)])
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
    wanted: list[uuid.UUID] = []
    try:
        wanted = await seed(pool, bootstrap, topic, n)
        env = {
            **os.environ,
            "PROVIDER_URL": provider_url,
            "COMMANDS_TOPIC": topic,
            "EVENTS_TOPIC": f"{topic}.events",
            "COMMANDS_GROUP": f"bench-{uuid.uuid4().hex[:8]}",
            "PROCESSOR_MAX_IN_FLIGHT": str(in_flight),
            "RECONCILE_AFTER_SECONDS": "3600",
            "LOG_LEVEL": "WARNING",
        }
        started = time.time()
        proc = subprocess.Popen(  # noqa: ASYNC220 (a benchmark harness)
            [sys.executable, "-m", "processors.commands"],
            cwd=ROOT,
            env=env,
            stdout=(workdir / f"{mode}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        rss = 0.0
        remaining = wanted
        cpu_at: tuple[int, float] | None = None  # (rows left, CPU ms) at the first progress
        try:
            # poll only what is still accepted: the poll must not load the database it measures
            while remaining:
                await asyncio.sleep(0.5)
                rows = await pool.fetch(
                    "SELECT id FROM payments_history.payments WHERE id = ANY($1) "
                    "AND status = $2::text",
                    remaining,
                    str(PaymentStatus.ACCEPTED),
                )
                remaining = [r["id"] for r in rows]
                if cpu_at is None and remaining and len(remaining) < n:
                    cpu_at = len(remaining), cpu_ms(proc.pid)
                rss = max(rss, peak_rss_mb(proc.pid))
                if proc.poll() is not None:
                    raise RuntimeError(f"processors.commands exited with {proc.returncode}")
            rss = max(rss, peak_rss_mb(proc.pid))
            drain_cpu = 0.0
            if cpu_at is not None:
                drain_cpu = (cpu_ms(proc.pid) - cpu_at[1]) / cpu_at[0]
        finally:
            proc.terminate()
            proc.wait(30)
        first, last = await pool.fetchrow(
            "SELECT extract(epoch FROM min(updated_at)), extract(epoch FROM max(updated_at)) "
            "FROM payments_history.payments WHERE id = ANY($1)",
            wanted,
        )
        lat = await pool.fetch(
            "SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms "
            "FROM payments_history.payments WHERE id = ANY($1)",
            wanted,
        )
        ms = sorted(float(r["ms"]) for r in lat)
        return Figures(
            mode,
            n,
            float(last - first),
            float(first) - started,
            statistics.median(ms),
            ms[int(len(ms) * 0.99) - 1],
            {"processor-commands": rss},
            drain_cpu,
        )
    finally:
        await forget(pool, topic, wanted)
        await pool.close()
        await admin.delete_topics([topic])
        await admin.close()


async def forget(pool: asyncpg.Pool, topic: str, payments: list[uuid.UUID]) -> None:
    """Delete what this run wrote: its rows must not look like real payments afterwards
    (the stack's reconciler would keep re-reading them from a provider that never saw them)."""
    async with pool.acquire() as conn, conn.transaction():
        events = f"{topic}.events"
        await conn.execute("DELETE FROM payments_history.outbox WHERE topic = $1", events)
        await conn.execute("DELETE FROM payments_history.inbox WHERE topic = $1", topic)
        await conn.execute("DELETE FROM payments_history.payments WHERE id = ANY($1)", payments)


def report(rows: list[Figures], provider_rss: float) -> None:
    print(
        f"{'mode':<28}{'payments':>9}{'start s':>9}{'drain s':>9}{'pay/s':>9}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'RSS MB':>8}{'CPU ms/pay':>11}"
    )
    for f in rows:
        print(
            f"{f.mode:<28}{f.payments:>9}{f.startup_s:>9.1f}{f.seconds:>9.1f}{f.rate:>9.1f}"
            f"{f.p50_ms:>9.0f}"
            f"{f.p99_ms:>9.0f}{f.rss_mb['processor-commands']:>8.1f}{f.cpu_ms:>11.2f}"
        )
    if len(rows) == 2:
        print(f"ratio parallel / one-at-a-time: {rows[0].rate / rows[1].rate:.1f}x")
    print(
        f"peak RSS sandbox provider: {provider_rss:.1f} MB; this script: "
        f"{peak_rss_mb(os.getpid()):.1f} MB"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        provider, url = start_provider(workdir)
        try:
            rows = [await run_mode("parallel (in-flight 256)", 256, args.payments, url, workdir)]
            if args.baseline_payments:
                rows.append(
                    await run_mode(
                        "one at a time (in-flight 1)", 1, args.baseline_payments, url, workdir
                    )
                )
            report(rows, peak_rss_mb(provider.pid))
        finally:
            provider.terminate()
            provider.wait(10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--baseline-payments", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
