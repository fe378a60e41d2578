"""The broker-failure proof (``make up KAFKA_BROKERS=3``).

While the workload flows, ``kill -9`` one broker at a time: first the KRaft controller
leader, then the broker leading most partitions of ``billing.commands.v1``, then the one
left. After each kill the supervisor restarts it; the next kill waits until it is back
(``BrokerProof._back``): a new process, serving on its own port, every replica of the
billing and internal topics in sync, and the three KRaft voters following one leader.
The ISR alone does not say that: a killed broker stays in every ISR until its session
expires (``broker.session.timeout.ms``), so "all in sync" five seconds after the kill let
the next kill through while the first broker was still down (all three dead within 20 s,
infra/kafka/README.md).
The clients retry the brief 503s; the invariants (every 202 reaches a final state, no
double charge, …) are checked by the run as usual.

Then two brokers are stopped at once: with ``min.insync.replicas=2`` nothing can be
acknowledged, so the gateway must answer 503 and never 202; once they return it accepts
again (the seconds until the first 202 are the recovery time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka.admin import AIOKafkaAdminClient

from schemas import topics
from tests.chaos.client import Client
from tests.chaos.invariants import Check
from tests.chaos.stack import (
    ROOT,
    instances,
    kill_hard,
    running_processes,
    supervisor_name,
    supervisorctl,
)

BILLING_TOPICS = (topics.COMMANDS, topics.WEBHOOKS, topics.EVENTS)
INTERNAL_TOPICS = ("__consumer_offsets", "__transaction_state")
BACK_TIMEOUT_S = 300.0  # a 3.9 restart took 85-193 s at load 45-70 (infra/kafka/README.md)
FINAL = frozenset({"succeeded", "canceled", "failed"})
PAYMENT = {"plan_id": "monthly", "return_url": "https://cinema.example/back"}


@dataclass
class BrokerKill:
    name: str
    role: str
    seconds_back: float | None  # until every replica is in sync again; None: not in time


@dataclass
class Outage:
    statuses: Counter[str] = field(default_factory=Counter)
    accepted_while_down: int = 0
    recovery_s: float | None = None
    recovered_payment_final: bool = False


def quorum_states(root: Path = ROOT) -> list[tuple[int, int]]:
    """(epoch, leader id) of each KRaft voter, from its quorum-state file (-1: no leader)."""
    states = []
    cluster = root / ".run" / "kafka-cluster"
    for state in sorted(cluster.glob("node-*/data/__cluster_metadata-0/quorum-state")):
        data = json.loads(state.read_text())
        states.append((data.get("leaderEpoch", -1), data.get("leaderId", -1)))
    return states


def controller_leader(root: Path = ROOT) -> int | None:
    """The KRaft leader's node id (highest epoch wins)."""
    known = [state for state in quorum_states(root) if state[1] >= 0]
    return max(known)[1] if known else None


def quorum_settled(root: Path = ROOT) -> bool:
    """Every voter follows one leader in one epoch (a restarted voter has rejoined)."""
    states = set(quorum_states(root))
    return len(states) == 1 and next(iter(states))[1] >= 0


async def describe(
    bootstrap: str, names: tuple[str, ...] = BILLING_TOPICS
) -> list[dict[str, object]]:
    """The topics' partitions; bounded: an admin client can hang on a failing node."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
    try:
        async with asyncio.timeout(15):
            await admin.start()
            return list(await admin.describe_topics(list(names)))
    finally:
        await admin.close()


async def commands_leader(bootstrap: str) -> int | None:
    for described in await describe(bootstrap):
        if described["topic"] == topics.COMMANDS:
            leaders = Counter(p["leader"] for p in described["partitions"])  # type: ignore[attr-defined]
            return leaders.most_common(1)[0][0] if leaders else None
    return None


async def all_in_sync(bootstrap: str) -> bool:
    return all(
        len(p["isr"]) == len(p["replicas"])
        for described in await describe(bootstrap, BILLING_TOPICS + INTERNAL_TOPICS)
        for p in described["partitions"]  # type: ignore[attr-defined]
    )


async def node_back(bootstrap: str, node: int) -> bool:
    """Node `node` serves on its own port, all replicas are in sync, the quorum is settled.

    A broker opens its port only once registered and unfenced, so the first admin call
    through that port alone proves the new incarnation is up.
    """
    own = bootstrap.split(",")[node - 1]
    try:
        await describe(own)
        return await all_in_sync(bootstrap) and await asyncio.to_thread(quorum_settled)
    except Exception:  # noqa: BLE001 - a node or a cluster in failover: ask again
        return False


@dataclass
class BrokerProof:
    bootstrap: str
    results: list[BrokerKill] = field(default_factory=list)
    settle_s: float = 5.0  # after the kill, before asking; polls every fifth of it

    @staticmethod
    def applies() -> bool:
        return len(instances("kafka", running_processes())) >= 3

    async def run(self, start_after: float) -> None:
        await asyncio.sleep(start_after)
        killed: set[int] = set()
        for role in ("controller leader", "leader of billing.commands.v1", "the third"):
            node = await self._target(role, killed)
            killed.add(node)
            result = await self._kill(f"kafka-{node}", role)
            self.results.append(result)
            print(*broker_notes([result], None), flush=True)  # progress: the run is long
            if result.seconds_back is None:
                return  # another kill now would be two brokers down, not one at a time

    async def _target(self, role: str, killed: set[int]) -> int:
        found: int | None = None
        if role == "controller leader":
            found = controller_leader()
        elif role.startswith("leader of"):
            with contextlib.suppress(Exception):  # no answer: take the next node instead
                found = await commands_leader(self.bootstrap)
        if found is None or found in killed:
            found = min({1, 2, 3} - killed)
        return found

    async def _kill(self, name: str, role: str) -> BrokerKill:
        old_pid = (await asyncio.to_thread(running_processes)).get(name)
        started = time.monotonic()
        if old_pid is not None:
            kill_hard(old_pid)
        await asyncio.sleep(self.settle_s)  # let the restart begin before asking
        while time.monotonic() - started < BACK_TIMEOUT_S:
            if await self._back(name, old_pid):
                return BrokerKill(name, role, time.monotonic() - started)
            await asyncio.sleep(self.settle_s / 5)
        return BrokerKill(name, role, None)

    async def _back(self, name: str, old_pid: int | None) -> bool:
        """A new process of `name`, and `node_back` for its node (see the module's doc)."""
        pid = (await asyncio.to_thread(running_processes)).get(name)
        if pid is None or pid == old_pid:
            return False  # not restarted yet: the ISR still names the dead broker
        return await node_back(self.bootstrap, int(name.rsplit("-", 1)[1]))


async def two_brokers_down(client: Client, attempts: int = 6) -> Outage:
    """Stop kafka-2 and kafka-3: POSTs must get 503, never 202; then start them again."""
    outage = Outage()
    client.deadline = max(client.deadline, client.now() + 2 * BACK_TIMEOUT_S)
    names = [supervisor_name("kafka-2"), supervisor_name("kafka-3")]
    await asyncio.to_thread(supervisorctl, "stop", *names)
    try:
        await asyncio.sleep(3.0)
        users = [uuid.uuid4() for _ in range(attempts)]
        for status in await asyncio.gather(*(_post_once(client, u, "down") for u in users)):
            outage.statuses[status] += 1
            outage.accepted_while_down += status in ("201", "202")
    finally:
        await asyncio.to_thread(supervisorctl, "start", *names)
    started = time.monotonic()
    user = uuid.uuid4()
    while time.monotonic() - started < BACK_TIMEOUT_S:
        if await _post_once(client, user, "recovered") in ("201", "202"):
            outage.recovery_s = time.monotonic() - started
            outage.recovered_payment_final = await _reaches_final(client, user)
            break
        await asyncio.sleep(1.0)
    return outage


async def _post_once(client: Client, user: uuid.UUID, key: str) -> str:
    token = await client.token(user)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    try:
        response = await client.http.post(
            f"{client.urls.gateway}/api/v1/payments", json=PAYMENT, headers=headers, timeout=20
        )
    except httpx.TransportError as exc:
        return exc.__class__.__name__
    return str(response.status_code)


async def _reaches_final(client: Client, user: uuid.UUID, within: float = 90.0) -> bool:
    started = time.monotonic()
    while time.monotonic() - started < within:
        response = await client.api("GET", user, "/api/v1/payments")
        items = [] if response is None else response.json().get("items", [])
        if items and items[0]["status"] in FINAL | {"pending"}:
            return True  # pending: at the provider, waiting for the payer (nothing lost)
        await asyncio.sleep(1.0)
    return False


def broker_check(results: list[BrokerKill], outage: Outage | None) -> Check:
    check = Check("broker failover")
    for r in results:
        check.expect(r.seconds_back is not None, f"{r.name} ({r.role}) not back in sync")
    if outage is not None:
        check.expect(outage.accepted_while_down == 0, f"202 with two brokers down: {outage}")
        check.expect(set(outage.statuses) <= {"503"}, f"not 503 while down: {outage.statuses}")
        check.expect(outage.recovery_s is not None, "no 202 after the brokers returned")
        check.expect(outage.recovered_payment_final, "the first payment after it did not move")
    return check


def broker_notes(results: list[BrokerKill], outage: Outage | None) -> list[str]:
    notes = [
        f"broker: kill -9 {r.name} ({r.role}) → "
        + (f"all replicas in sync after {r.seconds_back:.1f}s" if r.seconds_back else "NOT back")
        for r in results
    ]
    if outage is not None:
        recovery = "never" if outage.recovery_s is None else f"{outage.recovery_s:.1f}s"
        notes.append(
            f"two brokers down: answers {dict(outage.statuses)}, "
            f"{outage.accepted_while_down} accepted; first 202 after restart in {recovery}"
        )
    return notes
