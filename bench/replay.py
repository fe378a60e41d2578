"""`make bench-replay`: rewind every consumer group to offset 0 and time the re-read.

    python -m bench.replay [--events 100000] [--within 1800]

1. Top up `billing.events.v1` to `--events` records with `PaymentPending` events of payments
   that do not exist (deterministic ids like the relay's; keyed by their user). Both event
   consumers read them; neither acts on a pending payment, so applying them once costs an
   inbox row each — and re-reading them takes the same path as any other event: the inbox
   says done. Whatever the stack already had (real flows, commands, webhooks) is replayed too.
2. Wait until every group has applied everything (lag 0): the first pass, timed.
3. Snapshot the effects: row counts and checksums of our tables, the provider's ledger,
   Auth's role changes, the notifications received.
4. Stop the four reading programs, reset each group to the earliest offset with Kafka's own
   tool (`billing_cli.replay`), start them, and time the re-read until lag 0; CPU of every
   program from /proc over it.
5. Snapshot again: must be equal, and the restarted programs made no outbound HTTP call
   (their `billing_outbound_requests_total`, which starts at 0 with the process).

Prints the figures; writes them to .run/bench/replay-<time>.json.
"""

import argparse
import asyncio
import json
import os
import time
import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench import procstat
from bench.report import save
from bench.stack import OUT, _commit
from billing_cli import replay
from common.metrics import PORTS
from schemas import ids, topics
from schemas.codec import encode, encode_key
from schemas.messages import PaymentPending
from tests.chaos.stack import StackUrls

GROUPS = replay.PROGRAMS  # {group: program}
TOPICS = {group: topic for topic, gs in replay.TOPIC_GROUPS.items() for group in gs}
EFFECTS_SQL = """
SELECT t.name, t.rows, t.digest FROM (
  SELECT 'payments' AS name, count(*) AS rows,
         md5(coalesce(string_agg(id::text || status || refunded_amount::text
                                 || updated_at::text, ',' ORDER BY id), '')) AS digest
    FROM payments_history.payments
  UNION ALL SELECT 'refunds', count(*), md5(coalesce(string_agg(
         id::text || status || updated_at::text, ',' ORDER BY id), ''))
    FROM payments_history.refunds
  UNION ALL SELECT 'subscribers', count(*), md5(coalesce(string_agg(
         user_id::text || subscriber_status::text || coalesce(expires_at::text, '')
         || updated_at::text, ',' ORDER BY user_id), ''))
    FROM payments_history.subscribers
  UNION ALL SELECT 'outbox', count(*), coalesce(max(id), 0)::text FROM payments_history.outbox
  UNION ALL SELECT 'inbox', count(*), coalesce(max(processed_at)::text, '')
    FROM payments_history.inbox
  UNION ALL SELECT 'dead_letters', count(*), coalesce(max(id), 0)::text
    FROM payments_history.dead_letters
) t"""


def pending_event(n: int) -> PaymentPending:
    payment = uuid.uuid4()
    return PaymentPending(
        message_id=ids.message_id("PaymentPending", payment),
        payment_id=payment,
        user_id=uuid.uuid4(),
        plan_id="bench-replay",
        amount=Decimal("299.00"),
        currency="RUB",
        external_id=uuid.uuid4(),
        confirmation_url=f"http://127.0.0.1/bench/{n}",
    )


async def partitions(admin: AIOKafkaAdminClient, topic: str) -> list[TopicPartition]:
    described = await admin.describe_topics([topic])
    return [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]


async def records_in(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await reader.start()
    try:
        parts = await partitions(admin, topic)
        begin, end = await reader.beginning_offsets(parts), await reader.end_offsets(parts)
        return sum(end[tp] - begin[tp] for tp in parts)
    finally:
        await reader.stop()
        await admin.close()


async def top_up(bootstrap: str, topic: str, wanted: int) -> int:
    """Produce what `topic` lacks to hold `wanted` records; how many were produced."""
    missing = max(wanted - await records_in(bootstrap, topic), 0)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=20
    )
    await producer.start()
    try:
        for start in range(0, missing, 5000):
            sent = []
            for n in range(start, min(start + 5000, missing)):
                event = pending_event(n)
                sent.append(
                    await producer.send(topic, encode(event), key=encode_key(event.user_id))
                )
            await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return missing


async def lag(bootstrap: str) -> dict[str, int]:
    """{group: end offset − committed offset, summed over its topic's partitions}.

    Our producers are not transactional, so there are no control records to leave out.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await reader.start()
    try:
        out = {}
        for group, topic in TOPICS.items():
            parts = await partitions(admin, topic)
            begin, end = await reader.beginning_offsets(parts), await reader.end_offsets(parts)
            committed = await admin.list_consumer_group_offsets(group)
            out[group] = sum(
                end[tp] - (committed[tp].offset if tp in committed else begin[tp]) for tp in parts
            )
        return out
    finally:
        await reader.stop()
        await admin.close()


async def until_caught_up(
    bootstrap: str, within: float, started: float | None = None
) -> dict[str, float]:
    """Seconds (from `started`, default now) at which each group's lag reached 0; raises
    past `within`."""
    started = time.monotonic() if started is None else started
    done: dict[str, float] = {}
    while len(done) < len(GROUPS):
        for group, left in (await lag(bootstrap)).items():
            if left <= 0 and group not in done:
                done[group] = time.monotonic() - started
        if time.monotonic() - started > within:
            raise TimeoutError(f"lag not 0 after {within} s: {await lag(bootstrap)}")
        await asyncio.sleep(0.5)
    return done


async def effects(urls: StackUrls, db: asyncpg.Connection) -> dict[str, Any]:
    rows = {r["name"]: [r["rows"], r["digest"]] for r in await db.fetch(EFFECTS_SQL)}
    async with httpx.AsyncClient(timeout=60) as http:
        book = (await http.get(f"{urls.provider}/sandbox/ledger")).json()
        calls = (await http.get(f"{urls.auth}/api/v1/calls")).json()["items"]
        notes = (await http.get(f"{urls.notify}/api/v1/notifications")).json()["items"]
    return {
        "db": rows,
        "provider payments": len(book["payments"]),
        "provider refunds": len(book["refunds"]),
        "captured": book["captured_total"],
        "refunded": book["refunded_total"],
        "auth role changes": sum(
            1 for c in calls if c["method"] in ("POST", "DELETE") and "/roles" in c["path"]
        ),  # its GETs are the access reconciler's periodic reads, not the replay's
        "notifications": len(notes),
    }


async def outbound_calls() -> dict[str, float]:
    """`billing_outbound_requests_total` of each reading program since it (re)started."""
    out = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for program in GROUPS.values():
            text = (await http.get(f"http://127.0.0.1:{PORTS[program]}/metrics")).text
            out[program] = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith("billing_outbound_requests_total{")
            )
    return out


def rewind_all(bootstrap: str) -> None:
    for program in GROUPS.values():
        replay.supervise("stop", program)
    for group in GROUPS:
        replay.reset_offsets(replay.reset_command(bootstrap, group, None, replay.Target(), True))


def start_all() -> None:
    for program in GROUPS.values():
        replay.supervise("start", program)


def cpu_ms(before: dict[str, procstat.Sample], pids: dict[str, int]) -> dict[str, float]:
    return {n: s.cpu_ms for n, s in procstat.delta(before, procstat.sample(pids)).items()}


async def first_pass(urls: StackUrls, args: argparse.Namespace, result: dict[str, Any]) -> None:
    pids = procstat.stack_pids()
    before, t0 = procstat.sample(pids), time.monotonic()
    produced = await top_up(urls.kafka, topics.EVENTS, args.events)
    caught_up = await until_caught_up(urls.kafka, args.within)
    result["first_pass"] = {
        "produced": produced,
        "seconds": time.monotonic() - t0,
        "group_seconds": caught_up,
        "cpu_ms": cpu_ms(before, pids),
    }


async def replay_pass(urls: StackUrls, args: argparse.Namespace, result: dict[str, Any]) -> None:
    records = {g: await records_in(urls.kafka, t) for g, t in TOPICS.items()}
    await asyncio.to_thread(rewind_all, urls.kafka)
    rewound = await lag(urls.kafka)
    steady = {n: p for n, p in procstat.stack_pids().items() if n not in GROUPS.values()}
    before = procstat.sample(steady)
    t0 = time.monotonic()
    await asyncio.to_thread(start_all)
    caught_up = await until_caught_up(urls.kafka, args.within, started=t0)
    seconds = time.monotonic() - t0
    pids = procstat.stack_pids()
    # the four readers were started at t0: their whole CPU, start-up included, is the replay's
    restarted = procstat.sample({n: pids[n] for n in GROUPS.values()})
    spent = cpu_ms(before, steady) | {n: s.cpu_ms for n, s in restarted.items()}
    total = sum(rewound.values())
    result["replay"] = {
        "records_per_group": records,
        "rewound_lag": rewound,
        "messages": total,
        "seconds": seconds,
        "msgs_per_s": total / seconds,
        "group_seconds": caught_up,
        "group_msgs_per_s": {g: rewound[g] / s for g, s in caught_up.items() if s > 0},
        "cpu_ms": spent,
        "cpu_ms_per_message": {n: ms / max(total, 1) for n, ms in spent.items()},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    urls = StackUrls.from_env()
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    result: dict[str, Any] = {"started": started, "commit": _commit(), "args": vars(args)}
    result["loadavg_before"] = os.getloadavg()
    await first_pass(urls, args, result)
    db = await asyncpg.connect(urls.database)
    try:
        result["effects_before"] = await effects(urls, db)
        result["loadavg_replay_start"] = os.getloadavg()
        await replay_pass(urls, args, result)
        result["loadavg_replay_end"] = os.getloadavg()
        await asyncio.sleep(args.settle)  # anything a replayed message set off lands
        result["effects_after"] = await effects(urls, db)
    finally:
        await db.close()
    result["outbound_calls_during_replay"] = await outbound_calls()
    result["zero_effects"] = result["effects_before"] == result["effects_after"] and not any(
        result["outbound_calls_during_replay"].values()
    )
    return result


def show(result: dict[str, Any]) -> None:
    first, rep = result["first_pass"], result["replay"]
    load = " / ".join(
        f"{result[k][0]:.1f}"
        for k in ("loadavg_before", "loadavg_replay_start", "loadavg_replay_end")
    )
    print(f"commit {result['commit']}; 1-min load average before / replay start / end: {load}")
    print(
        f"first pass: produced {first['produced']}, all groups at lag 0 in {first['seconds']:.1f} s"
    )
    print(
        f"replay: {rep['messages']} messages re-read in {rep['seconds']:.1f} s = "
        f"{rep['msgs_per_s']:.0f} msg/s (from the programs' start to lag 0 in every group)"
    )
    for group, seconds in sorted(rep["group_seconds"].items()):
        rate = rep["group_msgs_per_s"].get(group, 0.0)
        print(f"  {group}: {rep['rewound_lag'][group]} in {seconds:.1f} s = {rate:.0f} msg/s")
    print("CPU ms per re-read message (process tree, /proc):")
    for name, ms in sorted(rep["cpu_ms_per_message"].items(), key=lambda kv: -kv[1]):
        if ms >= 0.005:
            print(f"  {name:28} {ms:8.3f}   ({rep['cpu_ms'][name] / 1000:.1f} s)")
    print(f"outbound HTTP calls during the replay: {result['outbound_calls_during_replay']}")
    if result["zero_effects"]:
        print("zero effects: every count and checksum is unchanged")
    else:
        print("EFFECTS CHANGED:")
        print(json.dumps([result["effects_before"], result["effects_after"]], indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=100_000, help="records the events topic holds"
    )
    parser.add_argument("--within", type=float, default=1800, help="give up a pass after (s)")
    parser.add_argument("--settle", type=float, default=5, help="wait before the last snapshot")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    result["started"] = "replay-" + result["started"]
    path = save(result, OUT)
    show(result)
    print(f"saved {path}")
    raise SystemExit(0 if result["zero_effects"] else 1)


if __name__ == "__main__":
    main()
