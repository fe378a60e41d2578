"""The gateway's own CPU per `POST /api/v1/payments`, measured in process (`make bench-post-cpu`).

    python -m bench.post_inproc [--posts 2000] [--concurrency 32] [--users 200] [--calls] [--gets]

The gateway's app (`create_app` with the stack's settings: its PostgreSQL, its Kafka, its
commands topic) is called as an ASGI app in this process — no uvicorn, no socket, so neither
HTTP parsing nor uvicorn's access log is in the figure — for N POSTs with fresh
Idempotency-Keys over U users' tokens (minted here with the stack's JWT secret), C at once.
Prints this process's CPU (`time.process_time`, every thread) per POST, PostgreSQL's and
Kafka's from /proc over the same interval, the wall rate and the statuses, and the garbage
collector's share of this process's CPU (its collections by generation). CPU is counted,
not rates, so the figure moves much less with the box's load than wrk's: the instrument for
an A/B of the gateway's own code. The payments it makes drain through the pipeline after.

`--gets` measures `GET /api/v1/payments/{id}` instead (each of N payments made first, read
once by its payer: the figures are then per GET). `--calls` runs the measured requests under
cProfile and prints the Python function calls per request (every call, the gateway's and its
libraries', in this process): a count of the work that, unlike CPU time, does not move with
the box's load (the CPU figure is then cProfile's).
"""

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import time
import uuid
from collections import Counter
from typing import Any

import asyncpg
import jwt
from fastapi import FastAPI
from starlette.types import Message

from bench import procstat
from gateway.app import create_app
from gateway.settings import GatewaySettings

BODY = b'{"plan_id": "monthly", "return_url": "https://cinema.example/thanks"}'
Made = tuple[bytes, bytes]  # a payment made: its payer's Authorization, its Location


def tokens(settings: GatewaySettings, users: int) -> list[bytes]:
    def token() -> bytes:
        user = uuid.uuid4()
        claims = {
            "sub": str(user),
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "exp": time.time() + 3600,
            "email": f"{user}@bench.test",
        }
        secret = settings.jwt_secret.get_secret_value()
        return b"Bearer " + jwt.encode(claims, secret, "HS256").encode()

    return [token() for _ in range(users)]


async def post(app: FastAPI, authorization: bytes, key: bytes) -> tuple[int, bytes]:
    """One POST through the ASGI app; its status and Location."""
    headers = [
        (b"authorization", authorization),
        (b"idempotency-key", key),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(BODY)).encode()),
    ]
    return await call(app, "POST", b"/api/v1/payments", headers, BODY)


async def call(
    app: FastAPI, method: str, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> tuple[int, bytes]:
    """One request through the ASGI app; its status and Location (b"" without one)."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path.decode(),
        "raw_path": path,
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"gateway.bench"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }
    done = asyncio.Event()
    messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    status, location = 0, b""

    async def receive() -> Message:
        if messages:
            return messages.pop()
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status, location
        if message["type"] == "http.response.start":
            status = message["status"]
            location = dict(message.get("headers", [])).get(b"location", b"")

    await app(scope, receive, send)
    done.set()
    return status, location


async def drive(
    app: FastAPI, users: list[bytes], posts: int, concurrency: int, made: list[Made] | None = None
) -> Counter[int]:
    """`posts` POSTs, `concurrency` at once; each payment made is added to `made`."""
    run, statuses, left = uuid.uuid4().hex, Counter[int](), iter(range(posts))

    async def worker() -> None:
        for n in left:
            key = f"inproc-{run}-{n}".encode()
            status, location = await post(app, users[n % len(users)], key)
            statuses[status] += 1
            if made is not None and location:
                made.append((users[n % len(users)], location))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


async def drive_gets(app: FastAPI, made: list[Made], concurrency: int) -> Counter[int]:
    """`GET /payments/{id}` of each payment in `made`, by its payer, `concurrency` at once."""
    statuses, left = Counter[int](), iter(made)

    async def worker() -> None:
        for authorization, location in left:
            status, _ = await call(app, "GET", location, [(b"authorization", authorization)])
            statuses[status] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    settings = GatewaySettings()
    app = create_app(settings)
    users = tokens(settings, args.users)
    pids = {
        name: pid for name, pid in procstat.stack_pids().items() if name in ("postgres", "kafka")
    }
    commits0 = await transactions(settings)
    async with app.router.lifespan_context(app):
        await drive(app, users, 1, 1)  # the plan cache: the others take the short way
        await drive(app, users, args.concurrency, args.concurrency)  # pool, producer
        made: list[Made] = []
        if args.gets:  # the payments whose GETs are measured, made beforehand
            await drive(app, users, args.posts, args.concurrency, made)
        load, before, cpu0, wall0 = (
            os.getloadavg()[0],
            procstat.sample(pids),
            time.process_time(),
            time.perf_counter(),
        )
        with GcTime() as collections, Calls(args.calls) as calls:
            if args.gets:
                statuses = await drive_gets(app, made, args.concurrency)
            else:
                statuses = await drive(app, users, args.posts, args.concurrency)
        cpu1, wall1 = time.process_time(), time.perf_counter()
        spent = procstat.delta(before, procstat.sample(pids))
    # the pool closed with the lifespan: its backends' counts reach pg_stat_database
    await asyncio.sleep(1)  # their backends report as they exit
    commits = await transactions(settings) - commits0
    requests = 1 + args.concurrency + args.posts * (2 if args.gets else 1)
    sizes = getattr(app.state.services, "accepts", None)
    n = args.posts
    return {
        "loadavg_1m": load,
        "statuses": dict(statuses),
        "posts_per_s": n / (wall1 - wall0),
        "gateway_cpu_ms_per_post": (cpu1 - cpu0) * 1000 / n,
        **{f"{name}_cpu_ms_per_post": s.cpu_ms / n for name, s in spent.items()},
        "gc_ms_per_post": collections.seconds * 1000 / n,
        "gc_collections_by_generation": collections.counts,
        **({"python_calls_per_post": calls.total / n} if args.calls else {}),
        # PostgreSQL's transactions (an autocommit statement is one) per request of the run,
        # warm-up included: the gateway's, if nothing else writes (the pipeline stopped)
        "pg_transactions_per_request": commits / requests,
        "accept_batches": dict(sorted(sizes.sizes.items())) if sizes is not None else "-",
    }


async def transactions(settings: GatewaySettings) -> int:
    """PostgreSQL's committed and rolled back transactions so far, in the stack's database."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return count


class Calls:
    """Every Python function call while the block runs (cProfile), when `on`."""

    def __init__(self, on: bool) -> None:
        self.profile = cProfile.Profile() if on else None
        self.total = 0

    def __enter__(self) -> "Calls":
        if self.profile is not None:
            self.profile.enable()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.profile is not None:
            self.profile.disable()
            self.total = pstats.Stats(self.profile).total_calls  # type: ignore[attr-defined]


class GcTime:
    """The CPU time the garbage collector took while the block ran, and its collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.counts = [0, 0, 0]
        self._started = 0.0

    def __enter__(self) -> "GcTime":
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.counts[info["generation"]] += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--calls", action="store_true", help="Python calls per POST (cProfile)")
    parser.add_argument("--gets", action="store_true", help="measure GET /payments/{id} instead")
    result = asyncio.run(measure(parser.parse_args()))
    print(
        "  ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items())
    )


if __name__ == "__main__":
    main()
