"""`make bench`: full flows through the running stack, with same-run baselines.

    python -m bench.stack [--flows 400] [--concurrency 100] [--throughput] [--profile]
    python -m bench.stack --compare A.json B.json

Order: warm-up flows (not measured) → idle CPU of every program → bare FastAPI + JWT under
wrk → raw aiokafka round trip → the measured flows (CPU of every program's process tree read
from /proc before and after) → `POST /api/v1/payments` alone under wrk (last: the payments
it makes drain afterwards) → optionally bench.throughput. Prints one table; writes the JSON
to .run/bench/<time>.json.
"""

import argparse
import asyncio
import os
import resource
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import baselines, procstat, profile, throughput
from bench.full_flow import drive, tokens
from bench.report import compare, profile_table, save, show, table
from tests.stack.conftest import stack_from_env

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".run" / "bench"


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    dirty = "+dirty" if git("status", "--porcelain", "--untracked-files=no").strip() else ""
    return git("rev-parse", "--short", "HEAD").strip() + dirty


def _self_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


async def measured_flows(args: argparse.Namespace, result: dict[str, Any]) -> None:
    stack, pids = stack_from_env(), procstat.stack_pids()
    spies = []
    if args.profile:
        spies = profile.start(profile.python_programs(pids), Path(result["profile_dir"]), 100)
        await asyncio.sleep(2)  # py-spy attaches
    before, cpu0 = procstat.sample(pids), _self_cpu_ms()
    run = await drive(stack, args.flows, args.concurrency, args.deadline)
    spent, cpu1 = procstat.delta(before, procstat.sample(pids)), _self_cpu_ms()
    profile.stop(spies)
    done = max(run.flows, 1)
    result["flows"] = run.summary()
    result["cpu_ms_per_flow"] = {name: s.cpu_ms / done for name, s in spent.items()}
    result["rss_mb"] = {name: s.hwm_mb for name, s in spent.items()}
    result["processes"] = {name: s.processes for name, s in spent.items()}
    result["loadgen_cpu_ms_per_flow"] = (cpu1 - cpu0) / done
    if args.profile:
        result["profile"] = {
            name: profile.top_frames(Path(result["profile_dir"]) / f"{name}.txt")
            for name in profile.python_programs(pids)
        }


async def idle_cost(seconds: float) -> dict[str, float]:
    """% of one core each program uses while nothing is asked of the stack."""
    pids = procstat.stack_pids()
    before = procstat.sample(pids)
    await asyncio.sleep(seconds)
    spent = procstat.delta(before, procstat.sample(pids))
    return {name: s.cpu_ms / (seconds * 10) for name, s in spent.items()}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stack = stack_from_env()
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result: dict[str, Any] = {"started": started, "commit": _commit(), "args": vars(args)}
    result["loadavg_1m_before"] = os.getloadavg()[0]
    result["profile_dir"] = str(OUT / f"profile-{started.replace(':', '')}")
    b: dict[str, Any] = {}
    result["baselines"] = b
    await drive(stack, args.warmup, min(args.warmup, args.concurrency), 60)
    users = await tokens(stack, 100)
    b["bare"] = baselines.bare_endpoint(users[0], args.wrk_seconds, 64).as_dict()
    b["kafka"] = await baselines.kafka_round_trip(args.kafka_messages)
    result["idle_cpu_pct"] = await idle_cost(args.idle_seconds)
    await measured_flows(args, result)
    b["post"] = baselines.gateway_post(stack.gateway, users, args.wrk_seconds, 64).as_dict()
    result["loadavg_1m_after_flows"] = os.getloadavg()[0]
    if args.throughput:
        b["throughput"] = await _throughput(args.throughput_payments)
    return result


async def _throughput(payments: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        provider, url = throughput.start_provider(work)
        try:
            rows = [
                await throughput.run_mode("parallel (in-flight 256)", 256, payments, url, work),
                await throughput.run_mode("one at a time", 1, max(payments // 10, 20), url, work),
            ]
        finally:
            provider.terminate()
            provider.wait(10)
    return [
        {
            "mode": r.mode,
            "rate": r.rate,
            "p99_ms": r.p99_ms,
            "rss_mb": max(r.rss_mb.values()),
            "cpu_ms_per_payment": r.cpu_ms,
        }
        for r in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--deadline", type=float, default=300, help="stop the flows after (s)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--wrk-seconds", type=int, default=10)
    parser.add_argument("--kafka-messages", type=int, default=20000)
    parser.add_argument("--throughput", action="store_true", help="also run bench.throughput")
    parser.add_argument("--throughput-payments", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="py-spy the flows (slows them)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = parser.parse_args()
    if args.compare:
        show(compare(*args.compare))
        return
    result = asyncio.run(run(args))
    path = save(result, OUT)
    show(table(result))
    if "profile" in result:
        show(profile_table(result["profile"]))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
