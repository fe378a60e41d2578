"""CPU ms per full flow of the event consumers (and their neighbours), from /proc.

    python -m bench.consumer_cpu [--flows 150] [--concurrency 50] [--settle 5]

A short, repeatable A/B probe for the consumers (docs/performance.md, round 5): drives N full
flows through the running stack (bench.full_flow), waits `settle` seconds for the consumers
to drain what the last flows produced, and prints each program's CPU per finished flow with
the 1-min load average before and after. Nothing is written; run it alternately on the two
trees being compared.
"""

import argparse
import asyncio
import os

from bench import procstat
from bench.full_flow import drive
from tests.stack.conftest import stack_from_env

SHOWN = ("consumer-subscriptions", "consumer-notifications", "postgres", "kafka")


async def run(flows: int, concurrency: int, settle: float) -> None:
    stack, pids = stack_from_env(), procstat.stack_pids()
    load0 = os.getloadavg()[0]
    before = procstat.sample(pids)
    done = await drive(stack, flows, concurrency, 170)
    await asyncio.sleep(settle)
    spent = procstat.delta(before, procstat.sample(pids))
    n = max(done.flows, 1)
    print(f"flows {done.flows} done, {done.failed} failed, {done.seconds:.1f} s")
    print(f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    for name in SHOWN:
        print(f"  {name:24} {spent[name].cpu_ms / n:7.2f} ms CPU per flow")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(run(args.flows, args.concurrency, args.settle))


if __name__ == "__main__":
    main()
