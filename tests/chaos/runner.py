"""One chaos run: workload + kills + faults, then quiet, then the invariants.

Phases: clean faults → start the clients, the killer and the faults → at `duration`
stop killing and injecting → let the clients finish → wait for quiescence (bounded) →
re-inject what the consumers dead-lettered while Auth/Notify were failing, as an
operator would (`billing dlq reinject`) → collect the ground truth → check.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import httpx

from billing_cli.lag import group_lag
from tests.chaos import brokers, faults, killer, renewals, takeover, truth
from tests.chaos.client import Client
from tests.chaos.invariants import Check, check_all
from tests.chaos.plan import UserPlan, make_plan, refund_count
from tests.chaos.report import RunSummary
from tests.chaos.stack import CONSUMER_GROUPS, StackUrls, process_kind, running_processes
from tests.chaos.workload import Outcome, Price, load_price, run_user

UNFINISHED_SQL = """
SELECT (SELECT count(*) FROM payments_history.payments
         WHERE user_id = ANY($1::uuid[]) AND status IN ('accepted', 'pending'))
     + (SELECT count(*) FROM payments_history.refunds
         WHERE user_id = ANY($1::uuid[]) AND status = 'accepted')
     + (SELECT count(*) FROM payments_history.outbox
         WHERE key = ANY($2::text[]) AND published_at IS NULL)"""
UNRESOLVED_DLQ_SQL = """
SELECT d.id FROM payments_history.dead_letters d
WHERE d.created_at >= $1 AND d.reinjected_at IS NULL AND NOT EXISTS (
  SELECT 1 FROM payments_history.inbox i
  WHERE i.consumer = d.consumer AND i.message_id = d.message_id)"""


Proof = takeover.TakeoverProof | brokers.BrokerProof
PROOF_ALLOWANCE_S = 180.0  # more time for the clients and the quiet phase, per scale proof
QUIET_POLL_S = 0.5  # how often the quiet phase asks whether it is over
TRUTH_TIMEOUT_S = 120.0  # to read the ledger, roles, notifications after the quiet phase


@dataclass(frozen=True)
class ChaosConfig:
    payments: int = 300
    seed: int = 1
    duration: float = 60.0
    kills: int = 0  # 0: one per process kind plus one every 10 s
    concurrency: int = 100
    fault_intensity: float = 1.0
    quiesce_timeout: float = 180.0
    every_kind: bool = True
    spare: tuple[str, ...] = ()
    reinject_dead_letters: bool = True
    run_id: uuid.UUID = field(default_factory=uuid.uuid4)  # names the users (see make_plan)
    # The scale proofs run by themselves when the stack has the shape for them:
    takeover: bool = True  # SCALE ≥ 2: kill -9 one instance of each worker (tests/chaos/takeover)
    broker_kills: bool = True  # KAFKA_BROKERS=3: kill brokers, then two at once (chaos/brokers)


@dataclass
class Run:
    config: ChaosConfig
    urls: StackUrls
    notes: list[str] = field(default_factory=list)
    takeover_proof: takeover.TakeoverProof | None = None
    broker_proof: brokers.BrokerProof | None = None
    outage: brokers.Outage | None = None

    def proof_checks(self) -> list[Check]:
        checks = []
        if self.takeover_proof is not None:
            checks.append(takeover.takeover_check(self.takeover_proof.results))
            self.notes += takeover.takeover_notes(self.takeover_proof.results)
        if self.broker_proof is not None:
            checks.append(brokers.broker_check(self.broker_proof.results, self.outage))
            self.notes += brokers.broker_notes(self.broker_proof.results, self.outage)
        return checks


async def run_chaos(config: ChaosConfig, urls: StackUrls) -> RunSummary:
    run = Run(config, urls)
    run.notes.append(f"run id {config.run_id} (repeat exactly on a fresh stack: --run-id)")
    since = datetime.now(UTC)
    loop = asyncio.get_running_loop()
    started = loop.time()
    proofs = _proofs(run)
    deadline = started + config.duration + config.quiesce_timeout + PROOF_ALLOWANCE_S * len(proofs)
    limits = httpx.Limits(max_connections=config.concurrency * 2)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as http:
        client = Client(http, urls, deadline, random.Random(config.seed))
        outcomes, the_killer, fault_plan = await _chaos_phase(run, client, started, proofs)
        _phase(run, "chaos + clients done", started)
        _give_time(client, config.quiesce_timeout)  # the proofs may have outlasted their allowance
        pool = await asyncpg.create_pool(urls.database, min_size=1, max_size=4)
        try:
            renewers = [o for o, u in zip(outcomes, _plan(config), strict=True) if u.renews]
            left = await renewals.bring_to_rest(client, pool, renewers)
            run.notes.append(f"{len(renewers)} renewing users; {left} still live after cancel")
            _phase(run, "renewals at rest", started)
            await _quiesce(run, client, pool, outcomes, since)
            _phase(run, "quiet", started)
            _give_time(client, TRUTH_TIMEOUT_S)
            found = await truth.collect(client, pool, outcomes, since)
            _phase(run, "truth collected", started)
            if run.broker_proof is not None:
                run.outage = await brokers.two_brokers_down(client)
        finally:
            await pool.close()
    plan = make_plan(config.seed, config.payments, config.duration, run_id=config.run_id)
    plan_refunds = refund_count(plan)
    return RunSummary(
        seed=config.seed,
        payments_planned=config.payments,
        refunds_planned=plan_refunds,
        elapsed_s=loop.time() - started,
        requests=client.counters.requests,
        accepted=sum(o.accepted for o in outcomes),
        retries=client.counters.retries,
        statuses=client.counters.statuses,
        transport_errors=client.counters.transport_errors,
        refunds_accepted=sum(r.answer == 202 for o in outcomes for r in o.refunds),
        kills=the_killer.kills,
        missed_kills=the_killer.missed,
        faults=dict(fault_plan.items()),
        checks=check_all(found, outcomes) + run.proof_checks(),
        notes=run.notes,
    )


async def _chaos_phase(
    run: Run, client: Client, started: float, proofs: list[Proof]
) -> tuple[list[Outcome], killer.Killer, faults.FaultPlan]:
    config = run.config
    await faults.turn_off(client)
    price = await load_price(client)
    renewing = await renewals.short_plan(client.urls.database)
    spare = ("kafka",) if run.broker_proof is not None else ()
    the_killer = killer.Killer(_schedule(config, spare))
    if run.takeover_proof is not None:
        the_killer.paused = run.takeover_proof.paused
    fault_plan = faults.make_fault_plan(config.seed, config.fault_intensity)
    run.notes += [f"faults refused by {r}" for r in await faults.turn_on(client, fault_plan)]
    tasks = [asyncio.create_task(the_killer.run(started))]
    if proofs:  # one after the other: each one's figures are about its own failure
        tasks.append(asyncio.create_task(_run_in_turn(proofs, config.duration * 0.1)))
    flows = asyncio.gather(*_flows(client, config, price, renewing, started + config.duration))
    try:
        await asyncio.sleep(max(0.0, started + config.duration - client.now()))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        run.notes += [f"faults not reset on {r}" for r in await faults.turn_off(client)]
    outcomes = list(await flows)
    unfinished = sum(
        1 for o in outcomes if o.accepted and o.status not in ("succeeded", "canceled", "failed")
    )
    if unfinished:
        run.notes.append(f"{unfinished} clients gave up waiting for a final status")
    run.notes += the_killer.log if len(the_killer.log) <= 20 else the_killer.log[:20] + ["..."]
    return outcomes, the_killer, fault_plan


def _phase(run: Run, name: str, started: float) -> None:
    """Where the run's time went, in its notes (the short run must stay short)."""
    run.notes.append(f"{asyncio.get_running_loop().time() - started:6.1f}s {name}")


def _give_time(client: Client, seconds: float) -> None:
    """At least `seconds` more for the client: the quiet phase and the truth are measured
    after the chaos, however long its proofs took on a loaded machine."""
    client.deadline = max(client.deadline, client.now() + seconds)


async def _run_in_turn(proofs: list[Proof], start_after: float) -> None:
    await asyncio.sleep(start_after)
    for proof in proofs:
        await proof.run(0.0)


def _proofs(run: Run) -> list[Proof]:
    """The scale proofs this stack's shape allows (and the config wants)."""
    if run.config.takeover and takeover.TakeoverProof(run.urls).kinds():
        run.takeover_proof = takeover.TakeoverProof(run.urls)
    if run.config.broker_kills and brokers.BrokerProof.applies():
        run.broker_proof = brokers.BrokerProof(run.urls.kafka)
    return [proof for proof in (run.takeover_proof, run.broker_proof) if proof is not None]


def _schedule(config: ChaosConfig, spare: tuple[str, ...] = ()) -> list[killer.Kill]:
    names = running_processes()
    kinds = sorted({process_kind(name) for name in names} - {*config.spare, *spare})
    kills = config.kills or len(kinds) + int(config.duration // 10)
    return killer.make_schedule(config.seed, kinds, kills, config.duration, config.every_kind)


def _plan(config: ChaosConfig) -> list[UserPlan]:
    return make_plan(config.seed, config.payments, config.duration, run_id=config.run_id)


def _flows(
    client: Client, config: ChaosConfig, price: Price, renewing: Price, chaos_ends: float
) -> list[asyncio.Task[Outcome]]:
    gate = asyncio.Semaphore(config.concurrency)

    async def flow(user: UserPlan) -> Outcome:
        await asyncio.sleep(user.start_at)
        async with gate:
            outcome = await run_user(client, user, price, renewing)
        if user.renews:
            await renewals.cancel_after_chaos(client, outcome, chaos_ends)
        return outcome

    return [asyncio.create_task(flow(user)) for user in _plan(config)]


async def _quiesce(
    run: Run, client: Client, pool: asyncpg.Pool, outcomes: list[Outcome], since: datetime
) -> None:
    users = [o.user_id for o in outcomes]
    await _wait_quiet(client, pool, users)
    if not run.config.reinject_dead_letters:
        return
    reinjected = await _reinject_dead_letters(pool, since)
    if reinjected:
        run.notes.append(f"re-injected {reinjected} dead letters after the faults stopped")
        await _wait_quiet(client, pool, users)


async def _wait_quiet(client: Client, pool: asyncpg.Pool, users: list[uuid.UUID]) -> None:
    """Until nothing of this run is unfinished and no group lags, or the deadline."""
    keys = [str(u) for u in users]
    while client.now() < client.deadline:
        try:
            unfinished = await pool.fetchval(UNFINISHED_SQL, users, keys)
            lag = await group_lag(client.urls.kafka, CONSUMER_GROUPS)
        except (OSError, asyncpg.PostgresError):
            unfinished, lag = 1, {}
        if unfinished == 0 and not any(lag.values()):
            return
        await asyncio.sleep(QUIET_POLL_S)


async def _reinject_dead_letters(pool: asyncpg.Pool, since: datetime) -> int:
    from billing_cli.dlq import reinject

    ids = [row["id"] for row in await pool.fetch(UNRESOLVED_DLQ_SQL, since)]
    for letter_id in ids:
        await reinject(letter_id, by="chaos-harness")
    return len(ids)
