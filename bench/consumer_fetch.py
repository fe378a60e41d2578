"""What a reader's fetch settings cost per record and per idle second, measured side by side.

    python -m bench.consumer_fetch [--rate 120] [--seconds 20] [--variant NAME:WAIT_MS:MIN_BYTES]

The consumers' CPU per flow is mostly Kafka's fetch cycle per arriving record at the rates
this box reaches (docs/performance.md, rounds 9 and 11). This measures that cycle alone: a
topic of its own with the events topic's 12 partitions, records of an event's size produced
one at a time at `rate` a second (random partitions and gaps, as flows arrive: Poisson), and
one reader per variant, built by `common.kafka.make_consumer` as the consumers build theirs
with only `fetch_max_wait_ms` and `fetch_min_bytes` changed, each in its own process and all
at once, so they see the same records. Printed per variant: records, non-empty fetches,
records per fetch, the reader's CPU (`time.process_time`: the fetch cycle and the loop, no
handler) per record and as % of a core, and the time from a record's creation (its producer
timestamp) to its arrival in the reader, p50 / p99. `--rate 0` gives the idle cost.
"""

import argparse
import asyncio
import json
import multiprocessing
import random
import time
import uuid

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from common.kafka import make_consumer
from consumers.settings import ConsumerSettings

DEFAULT = ("now:5000:1", "wait20ms:20:65536", "wait50ms:50:65536")
PARTITIONS = 12
VALUE = b"x" * 400  # about a PaymentSucceeded's JSON


async def probe(
    topic: str, start: float, seconds: float, wait_ms: int, min_bytes: int
) -> dict[str, float]:
    settings = ConsumerSettings()
    consumer = make_consumer(
        settings,
        f"bench-fetch-{uuid.uuid4().hex[:8]}",
        topic,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=wait_ms,
        fetch_min_bytes=min_bytes,
    )
    await consumer.start()
    try:
        while time.time() < start:  # joined and positioned before the window
            await consumer.getmany(timeout_ms=100)
        records = fetches = 0
        waits: list[float] = []  # ms from the record's creation to its arrival here
        cpu = time.process_time()
        while (left := start + seconds - time.time()) > 0:
            batch = await consumer.getmany(timeout_ms=int(left * 1000) + 1)
            if batch:
                fetches += 1
                now = time.time() * 1000
                for got in batch.values():
                    records += len(got)
                    waits.extend(now - record.timestamp for record in got)
        cpu = time.process_time() - cpu
    finally:
        await consumer.stop()
    p50, p99 = _percentiles(waits)
    figures = {"records": records, "fetches": fetches, "cpu_s": cpu, "seconds": seconds}
    return {**figures, "wait_p50_ms": p50, "wait_p99_ms": p99}


def _percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return 0.0, 0.0
    ordered = sorted(values)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def produce(topic: str, rate: float, until: float) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=ConsumerSettings().kafka_bootstrap_servers)
    await producer.start()
    sent = 0
    try:
        while rate > 0 and time.time() < until:
            partition = random.randrange(PARTITIONS)
            await producer.send_and_wait(topic, VALUE, partition=partition)
            sent += 1
            await asyncio.sleep(random.expovariate(rate))
    finally:
        await producer.stop()
    return sent


async def new_topic() -> str:
    topic = f"bench.fetch.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=ConsumerSettings().kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, replication_factor=1)])
    finally:
        await admin.close()
    return topic


def _run(out: "multiprocessing.Queue[str]", name: str, *args: float) -> None:
    topic, start, seconds, wait_ms, min_bytes = args
    figures = asyncio.run(probe(str(topic), start, seconds, int(wait_ms), int(min_bytes)))
    out.put(json.dumps({"variant": name, **figures}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=120.0, help="records a second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--variant", action="append", default=None)
    args = parser.parse_args()
    topic = asyncio.run(new_topic())
    start = time.time() + 8  # the readers join meanwhile
    out: multiprocessing.Queue[str] = multiprocessing.Queue()
    specs, procs = args.variant or DEFAULT, []
    for spec in specs:
        name, wait, size = spec.split(":")
        run = (out, name, topic, start, args.seconds, float(wait), float(size))
        procs.append(multiprocessing.Process(target=_run, args=run))
    for proc in procs:
        proc.start()
    sent = asyncio.run(produce(topic, args.rate, start + args.seconds + 1))
    lines = sorted(out.get() for _ in specs)
    for proc in procs:
        proc.join()
    print(f"{topic}: {sent} records produced at {args.rate:g}/s")
    report(lines)


def report(lines: list[str]) -> None:
    """One line per variant."""
    for line in lines:
        f = json.loads(line)
        per_fetch = f["records"] / f["fetches"] if f["fetches"] else 0.0
        per_record = 1000 * f["cpu_s"] / f["records"] if f["records"] else float("nan")
        print(
            f"{f['variant']:>10}: {f['records']:6d} records, {f['fetches']:6d} fetches "
            f"({per_fetch:.2f} per fetch), {per_record:.3f} ms CPU per record, "
            f"{100 * f['cpu_s'] / f['seconds']:.2f} % of a core, "
            f"produced → fetched p50 {f['wait_p50_ms']:.0f} / p99 {f['wait_p99_ms']:.0f} ms"
        )


if __name__ == "__main__":
    main()
