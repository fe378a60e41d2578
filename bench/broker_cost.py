"""`make bench-broker`: what N full flows cost Kafka and PostgreSQL, and in which requests.

    python -m bench.broker_cost [--flows 100] [--concurrency 25] [--jmx-url URL]

After a few warm-up flows it reads, before and after the measured flows: the CPU of every
program's process tree (/proc, bench/procstat.py); PostgreSQL's `pg_stat_database` (commits,
rows) and `pg_stat_wal` (WAL records, writes, fsyncs), and `pg_stat_statements` (calls) when
the extension is loaded; with `--jmx-url`, the broker's request counts by type
(`kafka.network:type=RequestMetrics,name=RequestsPerSec`, read with Kafka's JmxTool; the
broker's JMX agent can be started on a running broker with
`jcmd PID ManagementAgent.start jmxremote.port=9999 jmxremote.rmi.port=9999
jmxremote.authenticate=false jmxremote.ssl=false`). Everything is printed per completed
flow, with the 1-min load average before and after. JSON in .run/bench/broker-<time>.json.
The readings themselves run outside the CPU window (JmxTool is its own JVM, not the broker's).
"""

import argparse
import asyncio
import os
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

from bench import procstat
from bench.full_flow import drive
from bench.report import save
from bench.stack import OUT, _commit
from tests.stack.conftest import stack_from_env

ROOT = Path(__file__).resolve().parents[1]
_DATABASE = """
SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated,
       tup_deleted, sessions FROM pg_stat_database WHERE datname = current_database()
"""
_WAL = "SELECT wal_records, wal_bytes, wal_write, wal_sync FROM pg_stat_wal"
_STATEMENTS = "SELECT queryid::text AS id, calls, left(query, 90) AS query FROM pg_stat_statements"


async def pg_counters(url: str) -> tuple[Counter[str], dict[str, str]]:
    """Counters of PostgreSQL (cumulative), and the text of each statement id seen."""
    conn = await asyncpg.connect(url)
    try:
        out: Counter[str] = Counter()
        for query in (_DATABASE, _WAL):
            row = await conn.fetchrow(query)
            out.update({k: int(v) for k, v in dict(row or {}).items()})
        texts: dict[str, str] = {}
        try:
            for r in await conn.fetch(_STATEMENTS):
                out[f"stmt:{r['id']}"] += r["calls"]
                texts[f"stmt:{r['id']}"] = " ".join(r["query"].split())
        except asyncpg.PostgresError:
            pass  # pg_stat_statements not loaded: the totals above still say enough
        return out, texts
    finally:
        await conn.close()


def kafka_requests(jmx_url: str | None) -> Counter[str]:
    """The broker's requests by type so far (cumulative), or nothing without JMX."""
    if not jmx_url:
        return Counter()
    classpath = str(ROOT / "infra" / "kafka" / "libs" / "*")
    names = "kafka.network:type=RequestMetrics,name=RequestsPerSec,request=*,version=*"
    command = ["java", "-Xmx128m", "-cp", classpath, "org.apache.kafka.tools.JmxTool"]
    command += ["--jmx-url", jmx_url, "--object-name", names, "--attributes", "Count"]
    command += ["--one-time", "true", "--report-format", "properties"]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout
    counts: Counter[str] = Counter()
    for line in out.splitlines():
        if "request=" in line and ":Count=" in line:
            request = line.split("request=")[1].split(",")[0]
            counts[request] += int(float(line.rsplit("=", 1)[1]))
    return counts


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stack, pids = stack_from_env(), procstat.stack_pids()
    url = os.environ.get("DATABASE_URL", "postgresql://billing:billing@127.0.0.1:55432/billing")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result: dict[str, Any] = {"started": f"broker-{started}", "commit": _commit()}
    result["label"] = args.label
    await drive(stack, args.warmup, args.warmup, 60)
    k0 = kafka_requests(args.jmx_url)
    (p0, _), load0 = await pg_counters(url), os.getloadavg()[0]
    before = procstat.sample(pids)
    flows = await drive(stack, args.flows, args.concurrency, args.deadline)
    spent = procstat.delta(before, procstat.sample(pids))
    load1 = os.getloadavg()[0]
    p1, texts = await pg_counters(url)
    k1 = kafka_requests(args.jmx_url)
    done = max(flows.flows, 1)
    result.update(
        loadavg=[load0, load1],
        flows=flows.summary(),
        cpu_ms_per_flow={name: s.cpu_ms / done for name, s in spent.items()},
        kafka_requests_per_flow=_per(k1 - k0, done),
        pg_per_flow=_per(p1 - p0, done),
        statements={k: texts.get(k, "") for k in p1 if k.startswith("stmt:")},
    )
    return result


def _per(counts: Counter[str], done: int) -> dict[str, float]:
    return {k: v / done for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if v}


def show(result: dict[str, Any], top: int) -> None:
    f, cpu = result["flows"], result["cpu_ms_per_flow"]
    print(
        f"{result['label']} commit {result['commit']}: {f['flows']} flows ({f['failed']} failed)"
        f" in {f['seconds']:.1f} s, load {result['loadavg'][0]:.1f} → {result['loadavg'][1]:.1f}"
    )
    print(f"  CPU ms/flow: kafka {cpu.get('kafka', 0):.2f}  postgres {cpu.get('postgres', 0):.2f}")
    ours = {k: round(v, 2) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])}
    print(f"  every program: {ours}")
    requests = result["kafka_requests_per_flow"]
    if requests:
        # FetchConsumer and FetchFollower are the same requests as Fetch, counted again by kind
        total = sum(v for k, v in requests.items() if k not in ("FetchConsumer", "FetchFollower"))
        listed = ", ".join(f"{k} {v:.2f}" for k, v in requests.items())
        print(f"  Kafka requests/flow {total:.1f}: {listed}")
    pg = {k: v for k, v in result["pg_per_flow"].items() if not k.startswith("stmt:")}
    print("  PostgreSQL/flow: " + ", ".join(f"{k} {v:.1f}" for k, v in pg.items()))
    stmts = [(k, v) for k, v in result["pg_per_flow"].items() if k.startswith("stmt:")]
    if stmts:
        print(f"  statements/flow {sum(v for _, v in stmts):.1f}, top {top}:")
        for k, v in stmts[:top]:
            print(f"    {v:6.2f}  {result['statements'].get(k, '')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--deadline", type=float, default=150)
    parser.add_argument("--jmx-url", default=None)
    parser.add_argument("--label", default="")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    path = save(result, OUT)
    show(result, args.top)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
