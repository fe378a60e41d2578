"""`make bench-post`: `POST /api/v1/payments` against the bare FastAPI + JWT endpoint, one run.

    python -m bench.post [--seconds 10] [--connections 64] [--users 200]

In order, on the running stack: tokens of N fresh users → the bare endpoint under wrk (its
own uvicorn process; its CPU per request from /proc) → the stack settles → the POST under wrk
at full speed (64 connections, a fresh Idempotency-Key per request, the users' tokens in turn)
with the CPU of every program of the stack read from /proc before and after → the stack
settles → the POST again at **half** the rate just reached: wrk has no open-loop pacing (wrk2
is not in Debian), so each of the same connections waits a random 0.5–1.5 × C / (rate / 2)
seconds before its next request (wrk's `delay()` hook); the rate reached is printed beside the
one asked for (`--half-rate R` asks R instead: two gateways compared at the same rate). Then
both POST phases once more with the **pipeline paused** (the processors, consumers, relay,
reconcilers and scheduler stopped through supervisorctl, started again at the end whatever
happens): the gateway's own rate, with PostgreSQL and Kafka, without the pipeline's work on
the same two cores. The commands those POSTs made wait in Kafka and are processed once the
pipeline is back. Prints req/s, p50/p99, non-2xx and socket errors of each, the POST / bare
ratios, and CPU ms per POST of the gateway, PostgreSQL and Kafka, and of everything
downstream, which drains the payments meanwhile: together, and (with the pipeline running)
program by program. JSON in .run/bench/post/<time>.json.

"Settles" means: the stack's programs together used < 25 % of one core over a second (the
commands made by the previous phase have drained), or 60 s passed.
"""

import argparse
import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import baselines, procstat
from bench.full_flow import tokens
from bench.stack import _commit
from tests.stack.conftest import stack_from_env

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".run" / "bench" / "post"
NAMED = ("gateway", "postgres", "kafka")
QUIET_PCT = 25.0
# Everything that works on a POST after its 202 (every instance of each: `name:*`).
PIPELINE = (
    "processor-commands",
    "processor-webhooks",
    "consumer-notifications",
    "consumer-subscriptions",
    "outbox-relay",
    "access-reconciler",
    "reconciler",
    "scheduler",
)


def settle(pids: dict[str, int], max_s: float = 60.0) -> float:
    """Seconds waited until the stack is quiet (see the module's doc)."""
    started = time.monotonic()
    while time.monotonic() - started < max_s:
        before = procstat.sample(pids)
        time.sleep(1.0)
        busy = sum(s.cpu_ms for s in procstat.delta(before, procstat.sample(pids)).values())
        if busy / 10 < QUIET_PCT:  # ms over 1 s → % of one core
            break
    return time.monotonic() - started


def per_request(by_program: dict[str, float]) -> dict[str, float]:
    """CPU ms per request: the gateway, PostgreSQL, Kafka, and everything else together."""
    out = {name: by_program[name] for name in NAMED if name in by_program}
    out["downstream"] = sum(ms for name, ms in by_program.items() if name not in NAMED)
    return out


def post_phase(
    gateway: str, users: list[str], args: argparse.Namespace, rate: float | None
) -> dict[str, Any]:
    pids = procstat.stack_pids()
    waited = settle(pids)
    load = os.getloadavg()[0]
    before = procstat.sample(pids)
    mean_delay_ms = args.connections * 1000 / rate if rate else 0.0
    run = baselines.gateway_post(gateway, users, args.seconds, args.connections, mean_delay_ms)
    spent = procstat.delta(before, procstat.sample(pids))
    n = max(run.requests, 1)
    by_program = {name: s.cpu_ms / n for name, s in sorted(spent.items())}
    return {
        **run.as_dict(),
        "asked_rps": rate,
        "settled_s": waited,
        "loadavg_1m": load,
        "cpu_ms_per_request": per_request(by_program),
        "cpu_ms_per_request_by_program": by_program,
    }


@contextmanager
def pipeline_paused() -> Iterator[None]:
    """The pipeline stopped through supervisorctl, and started again on the way out."""
    groups = [f"{name}:*" for name in PIPELINE]
    ctl = [str(ROOT / "infra" / "supervisor" / "ctl")]
    subprocess.run([*ctl, "stop", *groups], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run([*ctl, "start", *groups], check=True, capture_output=True)


def bare_phase(token: str, args: argparse.Namespace) -> dict[str, Any]:
    load = os.getloadavg()[0]
    run, cpu_ms = baselines.bare_endpoint_cpu(token, args.seconds, args.connections)
    return {**run.as_dict(), "loadavg_1m": load, "cpu_ms_per_request": cpu_ms}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    stack = stack_from_env()
    users = asyncio.run(tokens(stack, args.users))
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result: dict[str, Any] = {"started": started, "commit": _commit(), "args": vars(args)}
    result["bare"] = bare_phase(users[0], args)
    result["post"] = post_phase(stack.gateway, users, args, None)
    result["ratio"] = result["post"]["rps"] / result["bare"]["rps"]
    half = args.half_rate or result["post"]["rps"] / 2
    result["half"] = post_phase(stack.gateway, users, args, half)
    settle(procstat.stack_pids())  # the pipeline drains what the phases above made
    with pipeline_paused():
        result["alone"] = post_phase(stack.gateway, users, args, None)
        half = args.half_rate or result["alone"]["rps"] / 2
        result["alone_half"] = post_phase(stack.gateway, users, args, half)
    result["ratio_alone"] = result["alone"]["rps"] / result["bare"]["rps"]
    result["loadavg_1m_after"] = os.getloadavg()[0]
    return result


def lines(r: dict[str, Any]) -> list[str]:
    def load(x: dict[str, Any]) -> str:
        return (
            f"{x['rps']:9,.1f} req/s  p50 {x['p50_ms']:7.1f} ms  p99 {x['p99_ms']:7.1f} ms  "
            f"non-2xx {x['non_2xx']}  socket errors {x['socket_errors']}  "
            f"(load avg {x['loadavg_1m']:.1f})"
        )

    def cpu(x: dict[str, Any]) -> str:
        return "  ".join(f"{name} {ms:.2f}" for name, ms in x["cpu_ms_per_request"].items())

    def downstream(x: dict[str, Any]) -> str:
        spent = x["cpu_ms_per_request_by_program"].items()
        rest = sorted(((ms, name) for name, ms in spent if name not in NAMED), reverse=True)
        shown = (f"{name} {ms:.2f}" for ms, name in rest if ms >= 0.005)
        return "    downstream: " + ("  ".join(shown) or "(none)")

    def half_line(x: dict[str, Any]) -> str:
        return f"  asked {x['asked_rps']:.1f} req/s, reached {x['rps'] / x['asked_rps']:.0%}"

    half, alone, alone_half = r["half"], r["alone"], r["alone_half"]
    return [
        f"bench-post {r['started']} commit {r['commit']}",
        f"bare FastAPI + JWT   {load(r['bare'])}",
        f"  CPU ms/request: bare app {r['bare']['cpu_ms_per_request']:.3f}",
        f"POST full speed      {load(r['post'])}",
        f"  CPU ms/POST: {cpu(r['post'])}",
        downstream(r["post"]),
        f"POST / bare          {r['ratio'] * 100:.1f} %",
        f"POST at half rate    {load(half)}",
        half_line(half),
        f"  CPU ms/POST: {cpu(half)}",
        downstream(half),
        "pipeline paused (processors, consumers, relay, reconcilers, scheduler stopped):",
        f"POST full speed      {load(alone)}",
        f"  CPU ms/POST: {cpu(alone)}",
        f"POST / bare          {r['ratio_alone'] * 100:.1f} %  (pipeline paused)",
        f"POST at half rate    {load(alone_half)}",
        half_line(alone_half),
        f"  CPU ms/POST: {cpu(alone_half)}",
        f"load average after   {r['loadavg_1m_after']:.1f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--users", type=int, default=200, help="tokens in turn (rate limit)")
    parser.add_argument(
        "--half-rate",
        type=float,
        default=0.0,
        help="req/s asked of the paced phase instead of half the full speed reached"
        " (an A/B of two gateways at the same rate)",
    )
    args = parser.parse_args()
    result = measure(args)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{result['started'].replace(':', '')}.json"
    path.write_text(json.dumps(result, indent=2, sort_keys=True))
    print("\n".join(lines(result)))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
