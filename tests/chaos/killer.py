"""``kill -9`` at random moments, of PIDs from ``make -s ps``; the supervisor restarts them.

The schedule is drawn from the seed up front (which kind, when); the PID is whatever
``make -s ps`` says at that moment. A kind is not killed again before it is back
(listed RUNNING under a new PID), so a kill always hits a live process.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tests.chaos.stack import kill_hard, process_kind, running_processes

HEAVY = frozenset({"kafka", "postgres"})  # slow to come back: give them room


@dataclass(frozen=True)
class Kill:
    at: float  # seconds after the start
    kind: str


def make_schedule(
    seed: int, kinds: Sequence[str], kills: int, duration: float, every_kind: bool
) -> list[Kill]:
    """`kills` kills in the first 85% of `duration`; `every_kind`: each kind at least once."""
    rng = random.Random(seed ^ 0x6B111)
    chosen = list(kinds) if every_kind else [k for k in kinds if k in HEAVY]
    rng.shuffle(chosen)
    while len(chosen) < kills:
        chosen.append(rng.choice([k for k in kinds if k not in HEAVY] or list(kinds)))
    window = duration * 0.85
    times = sorted(rng.uniform(window * 0.05, window) for _ in chosen)
    return _spread_heavy([Kill(at, kind) for at, kind in zip(times, chosen, strict=True)], window)


def _spread_heavy(schedule: list[Kill], window: float) -> list[Kill]:
    """Heavy kills at most one per ~quarter of the window, so the stack has time to breathe."""
    heavy = [k for k in schedule if k.kind in HEAVY]
    light = [k for k in schedule if k.kind not in HEAVY]
    spaced = [Kill(window * (i + 1) / (len(heavy) + 1), k.kind) for i, k in enumerate(heavy)]
    return sorted(light + spaced, key=lambda k: k.at)


@dataclass
class Killer:
    schedule: list[Kill]
    kills: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    paused: set[str] = field(default_factory=set)  # kinds a scale proof is holding down

    async def run(self, started: float) -> None:
        loop = asyncio.get_running_loop()
        last_pid: dict[str, int] = {}
        for kill in self.schedule:
            await asyncio.sleep(max(0.0, started + kill.at - loop.time()))
            await self._unpaused(kill.kind)
            pid = await self._live_pid(kill.kind, last_pid.get(kill.kind))
            if pid is None:
                self.missed[kill.kind] += 1
                continue
            try:
                kill_hard(pid)
            except ProcessLookupError:
                self.missed[kill.kind] += 1
                continue
            last_pid[kill.kind] = pid
            self.kills[kill.kind] += 1
            self.log.append(f"{loop.time() - started:7.1f}s kill -9 {kill.kind} (pid {pid})")

    async def _unpaused(self, kind: str) -> None:
        """A kind a scale proof holds down is killed only once the proof is done with it."""
        while True:
            if kind not in self.paused:
                return
            await asyncio.sleep(0.5)

    async def _live_pid(self, kind: str, not_pid: int | None, within: float = 60.0) -> int | None:
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            processes = await asyncio.to_thread(running_processes)
            pids = [pid for name, pid in processes.items() if process_kind(name) == kind]
            fresh = [pid for pid in pids if pid != not_pid]
            if fresh:
                return fresh[0]
            await asyncio.sleep(0.5)
        return None
