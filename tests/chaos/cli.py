"""``python -m tests.chaos --payments N --seed S --duration T ...``: exit 1 on any violation."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from tests.chaos.report import markdown, render
from tests.chaos.runner import ChaosConfig, run_chaos
from tests.chaos.stack import StackUrls, unhealthy


def parse_args(argv: list[str]) -> tuple[ChaosConfig, Path | None]:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--payments", type=int, default=300, help="users, each paying once")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same run")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of chaos")
    parser.add_argument("--kills", type=int, default=0, help="0: every kind + one per 10 s")
    parser.add_argument("--concurrency", type=int, default=100, help="clients at once")
    parser.add_argument("--fault-intensity", type=float, default=1.0, help="0 = no faults")
    parser.add_argument("--quiesce-timeout", type=float, default=180.0, help="seconds")
    parser.add_argument("--spare", action="append", default=[], help="a process kind not to kill")
    parser.add_argument("--no-reinject", action="store_true", help="leave dead letters alone")
    parser.add_argument(
        "--no-takeover", action="store_true", help="SCALE≥2: skip the kill-one-instance proof"
    )
    parser.add_argument(
        "--no-broker-kills", action="store_true", help="KAFKA_BROKERS=3: skip the broker proof"
    )
    parser.add_argument("--report", type=Path, help="also write the report (markdown) here")
    parser.add_argument(
        "--run-id", type=uuid.UUID, default=None, help="names the users (default: a new one)"
    )
    args = parser.parse_args(argv)
    config = ChaosConfig(
        payments=args.payments,
        seed=args.seed,
        duration=args.duration,
        kills=args.kills,
        concurrency=args.concurrency,
        fault_intensity=args.fault_intensity,
        quiesce_timeout=args.quiesce_timeout,
        spare=tuple(args.spare),
        reinject_dead_letters=not args.no_reinject,
        run_id=args.run_id or uuid.uuid4(),
        takeover=not args.no_takeover,
        broker_kills=not args.no_broker_kills,
    )
    return config, args.report


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config, report_path = parse_args(argv)
    urls = StackUrls.from_env()
    console = Console()
    down = unhealthy(urls)
    if down:
        console.print(f"the stack is not up (make up): {', '.join(down)}")
        return 2
    summary = asyncio.run(run_chaos(config, urls))
    render(summary, console)
    if report_path is not None:
        command = shlex.join(["python", "-m", "tests.chaos", *argv])
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        report_path.write_text(markdown(summary, command, when))
    return 0 if summary.passed else 1
