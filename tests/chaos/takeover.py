"""The rebalance proof (``make up SCALE=2``): SIGKILL one instance of each worker, keep it down.

For each kind that runs several instances, while the workload flows: ``kill -9`` one
instance and stop it in the supervisor (so it stays dead), then wait for the survivors
to take its work over, then start it again. Taken over means:

* a consumer-group worker: the group's members are the survivors only and they own every
  partition of the group's topics (partition ownership is what keeps per-user order);
* the outbox relay: the instance holding the advisory lock is killed; a standby holds it;
* the gateway: the port still answers ``/healthz`` (SO_REUSEPORT, the survivor accepts);
* the reconciler and any scheduler (``SINGLETONS``; renewals hook in here once the
  scheduler exists): the survivors keep running; the invariants show nothing was missed.

The lag returning to zero and the chaos invariants are checked by the run as usual.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from billing_cli.replay import PROGRAMS, TOPIC_GROUPS
from schemas.topics import TOPICS
from tests.chaos.invariants import Check
from tests.chaos.stack import (
    StackUrls,
    instances,
    kill_hard,
    running_processes,
    supervisor_name,
    supervisorctl,
)

SINGLETONS = ("reconciler", "scheduler")
TAKEOVER_TIMEOUT_S = 120.0
_RELAY_HOLDER_SQL = """
SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'outbox-relay-%'"""


@dataclass
class Takeover:
    kind: str
    victim: str
    seconds: float | None  # None: not taken over in time
    how: str


@dataclass
class TakeoverProof:
    urls: StackUrls
    paused: set[str] = field(default_factory=set)  # kinds the random killer leaves alone
    results: list[Takeover] = field(default_factory=list)

    def kinds(self) -> list[str]:
        processes = running_processes()
        wanted = [*PROGRAMS.values(), "outbox-relay", "gateway", *SINGLETONS]
        return [kind for kind in wanted if len(instances(kind, processes)) >= 2]

    async def run(self, start_after: float) -> None:
        await asyncio.sleep(start_after)
        for kind in self.kinds():
            self.paused.add(kind)
            try:
                result = await self.prove(kind)
                self.results.append(result)
                print(*takeover_notes([result]), flush=True)  # progress: the run is long
            finally:
                self.paused.discard(kind)

    async def prove(self, kind: str) -> Takeover:
        processes = instances(kind, await asyncio.to_thread(running_processes))
        victim = await self._victim(kind, processes)
        survivors = len(processes) - 1
        started = time.monotonic()
        kill_hard(processes[victim])
        await asyncio.to_thread(supervisorctl, "stop", supervisor_name(victim))
        try:
            done, how = self._condition(kind, victim, survivors)
            seconds = await _wait_for(done, started)
        finally:
            await asyncio.to_thread(supervisorctl, "start", supervisor_name(victim))
        return Takeover(kind, victim, seconds, how)

    async def _victim(self, kind: str, processes: dict[str, int]) -> str:
        if kind == "outbox-relay":
            holder = await self._relay_holder()
            if holder in processes:
                return holder
        return sorted(processes)[0]

    def _condition(
        self, kind: str, victim: str, survivors: int
    ) -> tuple[Callable[[], Awaitable[bool]], str]:
        group = {program: group for group, program in PROGRAMS.items()}.get(kind)
        if group is not None:
            return (lambda: self._group_taken_over(group, survivors)), f"group {group}"
        if kind == "outbox-relay":
            return (lambda: self._relay_moved(victim)), "advisory lock"
        if kind == "gateway":
            return self._gateway_answers, "port still served"
        return (lambda: self._still_running(kind, survivors)), "survivors running"

    async def _group_taken_over(self, group: str, survivors: int) -> bool:
        wanted = sum(TOPICS[t] for t, groups in TOPIC_GROUPS.items() if group in groups)
        members, owned = await group_members(self.urls.kafka, group)
        return members == survivors and owned == wanted

    async def _relay_holder(self) -> str | None:
        conn = await asyncpg.connect(self.urls.database)
        try:
            holder: str | None = await conn.fetchval(_RELAY_HOLDER_SQL)
            return holder
        finally:
            await conn.close()

    async def _relay_moved(self, victim: str) -> bool:
        holder = await self._relay_holder()
        return holder is not None and holder != victim

    async def _gateway_answers(self) -> bool:
        async with httpx.AsyncClient(timeout=2.0) as http:
            for _ in range(10):
                if (await http.get(f"{self.urls.gateway}/healthz")).status_code != 200:
                    return False
        return True

    async def _still_running(self, kind: str, survivors: int) -> bool:
        return len(instances(kind, await asyncio.to_thread(running_processes))) >= survivors


async def group_members(bootstrap: str, group: str) -> tuple[int, int]:
    """(members, partitions they own) of a consumer group, as its coordinator says."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
    try:
        async with asyncio.timeout(15):  # an admin client can hang on a failing node
            await admin.start()
            described = (await admin.describe_consumer_groups([group]))[0].to_object()
    finally:
        await admin.close()
    members = described["groups"][0]["members"]
    owned = 0
    for member in members:
        raw = member["member_assignment"]
        if raw:
            assignment = ConsumerProtocolMemberAssignment.decode(raw)
            owned += sum(len(parts) for _, parts in assignment.assignment)
    return len(members), owned


async def _wait_for(done: Callable[[], Awaitable[bool]], started: float) -> float | None:
    while time.monotonic() - started < TAKEOVER_TIMEOUT_S:
        try:
            if await done():
                return time.monotonic() - started
        except Exception:  # noqa: BLE001 - the broker or database is in the same chaos: ask again
            pass
        await asyncio.sleep(0.5)
    return None


def takeover_check(results: list[Takeover]) -> Check:
    check = Check("takeover (SCALE)")
    for r in results:
        check.expect(r.seconds is not None, f"{r.kind}: {r.victim}'s work not taken over")
    return check


def takeover_notes(results: list[Takeover]) -> list[str]:
    return [
        f"takeover: kill -9 {r.victim} ({r.how}) → "
        + (f"taken over in {r.seconds:.1f}s" if r.seconds is not None else "NOT taken over")
        for r in results
    ]
