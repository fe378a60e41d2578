"""Same-run baselines: wrk against a bare endpoint and against the gateway, and raw aiokafka.

wrk is bounded by its duration (`-d`) and connection count (`-c`) and talks to loopback only.
"""

import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench import procstat
from bench.throughput import free_port

ROOT = Path(__file__).resolve().parents[1]

# Each request gets a fresh Idempotency-Key and the next of the given tokens (one user per
# token keeps wrk under the gateway's per-user rate limit). The key names the run and wrk's
# thread: each thread has its own Lua state, counter and random generator, and with the same
# seed two threads would send the same (user, key) pairs, i.e. replays, not new payments.
POST_LUA = """
local tokens = {%s}
local run = "%s"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
local n = 0
request = function()
  n = n + 1
  local key = string.format("wrk-%%s-%%d-%%d", run, thread_id, n)
  local headers = {["Authorization"] = "Bearer " .. tokens[(n %% #tokens) + 1],
                   ["Idempotency-Key"] = key, ["Content-Type"] = "application/json"}
  return wrk.format("POST", "/api/v1/payments", headers,
    '{"plan_id": "monthly", "return_url": "https://cinema.example/thanks"}')
end
"""
# Pacing (bench.post's half rate): each connection waits a random 0.5-1.5 x the mean before
# its next request, so the connections do not fire in step.
DELAY_LUA = """
delay = function()
  return math.floor(%f * (0.5 + math.random()))
end
"""


@dataclass
class HttpLoad:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str) -> HttpLoad:
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return HttpLoad(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(latency["50"]) if "50" in latency else float("nan"),
        p99_ms=_ms(latency["99"]) if "99" in latency else float("nan"),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def wrk(url: str, seconds: int, connections: int, extra: list[str]) -> HttpLoad:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: run `make system-deps`")
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    cmd += [*extra, url]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    try:
        return parse_wrk(out)
    except (AttributeError, KeyError, ValueError) as exc:
        raise RuntimeError(f"cannot read wrk's output:\n{out}") from exc


def bare_endpoint(token: str, seconds: int, connections: int) -> HttpLoad:
    """req/s of a FastAPI endpoint that only verifies the token (its own uvicorn process)."""
    return bare_endpoint_cpu(token, seconds, connections)[0]


def bare_endpoint_cpu(token: str, seconds: int, connections: int) -> tuple[HttpLoad, float]:
    """`bare_endpoint`, and the bare app's CPU ms per request (from /proc)."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bare_app", str(port)], cwd=ROOT, stdout=log, stderr=log
        )
        try:
            url = f"http://127.0.0.1:{port}/bare"
            _wait_up(url, token)
            before = procstat.sample({"bare": proc.pid})
            load = wrk(url, seconds, connections, ["-H", f"Authorization: Bearer {token}"])
            spent = procstat.delta(before, procstat.sample({"bare": proc.pid}))["bare"]
            return load, spent.cpu_ms / max(load.requests, 1)
        finally:
            proc.terminate()
            proc.wait(10)


def _wait_up(url: str, token: str) -> None:
    for _ in range(100):
        try:
            httpx.get(url, headers={"Authorization": f"Bearer {token}"}).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def gateway_post(
    gateway: str, tokens: list[str], seconds: int, connections: int, mean_delay_ms: float = 0.0
) -> HttpLoad:
    """req/s of `POST /api/v1/payments` alone (no Prefer: wait), fresh key per request; with
    `mean_delay_ms`, each connection pauses about that long before each next request."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(POST_LUA % (", ".join(f'"{t}"' for t in tokens), uuid.uuid4().hex))
        if mean_delay_ms > 0:
            script.write(DELAY_LUA % mean_delay_ms)
        script.flush()
        return wrk(f"{gateway}/api/v1/payments", seconds, connections, ["-s", script.name])


async def kafka_round_trip(messages: int, size: int = 300) -> dict[str, float]:
    """msgs/s of aiokafka alone: produce N messages (acks=all, idempotent, like the stack's
    producers) to a fresh topic and consume them back in one consumer, start to last."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    topic = f"bench.raw.{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=12, replication_factor=1)])
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all")
    await consumer.start()
    await producer.start()
    try:
        payload = b"x" * size
        # one message per partition first, so that leader elections of the new topic are over
        await asyncio.gather(*[await producer.send(topic, payload, partition=p) for p in range(12)])
        started = time.perf_counter()
        received = asyncio.create_task(_consume(consumer, messages + 12))
        sent = [await producer.send(topic, payload, key=str(i).encode()) for i in range(messages)]
        await asyncio.gather(*sent)
        await asyncio.wait_for(received, 120)
        seconds = time.perf_counter() - started
    finally:
        await producer.stop()
        await consumer.stop()
        await admin.delete_topics([topic])
        await admin.close()
    return {"messages": messages, "seconds": seconds, "msgs_per_s": messages / seconds}


async def _consume(consumer: AIOKafkaConsumer, messages: int) -> None:
    seen = 0
    while seen < messages:
        batches = await consumer.getmany(timeout_ms=500)
        seen += sum(len(records) for records in batches.values())
