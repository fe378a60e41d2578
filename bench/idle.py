"""`make bench-idle`: CPU of every program of the idle stack, from /proc, over N seconds.

    python -m bench.idle [--seconds 60]

Nothing is asked of the stack while it runs: what it measures is each program's polling,
heartbeats, metadata refreshes and timers. CPU time (user + system of the process tree)
depends much less on the box's load than rates do; the load average is printed with it.
Writes .run/bench/idle-<time>.json.
"""

import argparse
import asyncio
import os
import time
from typing import Any

from bench.report import groups, save
from bench.stack import OUT, _commit, idle_cost


async def run(seconds: float) -> dict[str, Any]:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result: dict[str, Any] = {"started": f"idle-{started}", "commit": _commit()}
    result["loadavg_before"] = os.getloadavg()
    result["seconds"] = seconds
    result["idle_cpu_pct"] = await idle_cost(seconds)
    result["loadavg_after"] = os.getloadavg()
    result["groups_pct"] = groups(result["idle_cpu_pct"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    result = asyncio.run(run(parser.parse_args().seconds))
    path = save(result, OUT)
    load = f"{result['loadavg_before'][0]:.1f} → {result['loadavg_after'][0]:.1f}"
    print(f"commit {result['commit']}, {result['seconds']:.0f} s idle, load average {load}")
    for name, pct in sorted(result["idle_cpu_pct"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:28} {pct:6.2f} % of one core")
    for group, pct in result["groups_pct"].items():
        print(f"  = {group:26} {pct:6.2f} %")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
