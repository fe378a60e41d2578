"""Same-key load run against the running gateway: concurrent twins and distinct keys.

    .venv/bin/python -m bench.same_key_load [--clients 64] [--seconds 60] [--squad 8]

`--clients` concurrent clients in squads of `--squad`. Each round a squad takes a fresh user
and key and all its clients send that same payment request at once (a same-key group), then
each client sends one request with a key of its own (a distinct key). Every client works
until `--seconds` have passed or `--max-requests` were sent, whichever comes first.

Reports the answers by status, the 5xx count, the same-key groups and how many were answered
with more than one id (must be 0), and the latency. A connection the server closed under a
request (an idle keep-alive race) is retried with the same key, as a client would, and the
retries are counted. Exit status 1 on any 5xx, split group or
transport error. Tokens are signed here with JWT_SECRET/JWT_ISSUER/JWT_AUDIENCE (a fresh
user per round, so the per-user rate limit is not what is measured). Only a loopback
GATEWAY_URL is accepted: this is a load generator.
"""

import argparse
import asyncio
import ipaddress
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from billing_cli.tokens import local_token
from common.settings import Settings

RETRIES = 2
BODY = {"plan_id": "monthly", "return_url": "https://cinema.example/bench"}


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    groups: int = 0
    split_groups: list[set[str]] = field(default_factory=list)
    sent: int = 0
    retried: int = 0

    def record(self, response: httpx.Response | BaseException, took: float) -> str | None:
        self.sent += 1
        if isinstance(response, BaseException):
            self.errors[type(response).__name__] += 1
            return None
        self.statuses[response.status_code] += 1
        self.latencies.append(took)
        return str(response.json().get("payment_id")) if response.status_code < 300 else None


@dataclass(frozen=True)
class Run:
    gateway: str
    settings: Settings
    deadline: float
    max_requests: int


def loopback_only(url: str) -> str:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        sys.exit(f"refusing to load {url}: only a loopback gateway is a target")
    return url.rstrip("/")


async def post(
    http: httpx.AsyncClient, run: Run, token: str, key: str, tally: Tally
) -> tuple[httpx.Response | BaseException, float]:
    """One request; a connection the server closed under us is retried with the same key,
    as a client would (that is what the key is for), and counted apart."""
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    started = time.perf_counter()
    response: httpx.Response | BaseException = RuntimeError("not sent")
    for _ in range(RETRIES + 1):
        try:
            response = await http.post(f"{run.gateway}/api/v1/payments", json=BODY, headers=headers)
            break
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError) as exc:
            tally.retried += 1
            response = exc
        except httpx.HTTPError as exc:
            response = exc
            break
    return response, time.perf_counter() - started


def token_for(run: Run, user_id: uuid.UUID) -> str:
    s = run.settings
    return local_token(user_id, s.jwt_secret.get_secret_value(), s.jwt_issuer, s.jwt_audience)


def going(run: Run, tally: Tally) -> bool:
    return time.monotonic() < run.deadline and tally.sent < run.max_requests


async def squad(http: httpx.AsyncClient, run: Run, size: int, tally: Tally) -> None:
    while going(run, tally):
        token = token_for(run, uuid.uuid4())
        key = f"twin-{uuid.uuid4()}"
        twins = await asyncio.gather(*(post(http, run, token, key, tally) for _ in range(size)))
        ids = {tally.record(response, took) for response, took in twins} - {None}
        tally.groups += 1
        if len(ids) > 1:
            tally.split_groups.append({i for i in ids if i})
        singles = await asyncio.gather(
            *(post(http, run, token, f"own-{uuid.uuid4()}", tally) for _ in range(size))
        )
        for response, took in singles:
            tally.record(response, took)


def report(tally: Tally, seconds: float, clients: int) -> int:
    fivexx = sum(n for status, n in tally.statuses.items() if status >= 500)
    lat = sorted(tally.latencies) or [0.0]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(
        f"clients {clients}, {seconds:.1f} s, {tally.sent} requests, {tally.sent / seconds:.0f}/s"
    )
    print(f"answers by status: {dict(sorted(tally.statuses.items()))}")
    print(
        f"transport errors: {dict(tally.errors) or 0} (retried with the same key: {tally.retried})"
    )
    print(f"5xx: {fivexx}")
    split = len(tally.split_groups)
    print(f"same-key groups: {tally.groups}, answered with more than one id: {split}")
    print(f"latency ms: p50 {statistics.median(lat) * 1000:.0f}, p99 {p99 * 1000:.0f}")
    return 1 if fivexx or tally.split_groups or tally.errors else 0


async def main(args: argparse.Namespace) -> int:
    settings = Settings()
    gateway = loopback_only(args.gateway or settings.gateway_url)
    started = time.monotonic()
    run = Run(gateway, settings, started + args.seconds, args.max_requests)
    tally = Tally()
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        squads = [squad(http, run, args.squad, tally) for _ in range(args.clients // args.squad)]
        await asyncio.gather(*squads)
    return report(tally, time.monotonic() - started, args.clients)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--squad", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--gateway", default=None, help="default: GATEWAY_URL")
    args = parser.parse_args()
    if args.clients % args.squad or not 0 < args.seconds <= 600:
        parser.error("--clients must be a multiple of --squad, --seconds within (0, 600]")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse())))
