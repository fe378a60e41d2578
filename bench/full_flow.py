"""N full flows through the running stack, as a client and a card holder do them.

One flow: a new user token from the Auth sandbox → `POST /api/v1/payments` (every other flow
with `Prefer: wait=10`) → the card holder pays on the page (sandbox confirm, card 4242…) →
wait until the role is granted in Auth and the notification is in Notify (one watcher for
all flows, bench/watch.py) → one GET of the user's roles and one of the payment, which must be
`succeeded`. The flow helpers are tests/stack/flows.py's. At most `concurrency`
flows run at once; the run stops after N flows or `deadline_s`, whichever comes first.
"""

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx

from bench.lean_http import LeanClient
from bench.watch import ROLE, Watch
from tests.stack import flows
from tests.stack.client import Client
from tests.stack.conftest import Stack, User, new_user

POLL_S = 0.5
# What ends one flow as failed: the client's errors (StatusError is a RuntimeError), a step
# that found what it did not expect.
FAILED = (aiohttp.ClientError, TimeoutError, RuntimeError, AssertionError, KeyError)


@dataclass
class FlowRun:
    flows: int = 0
    failed: int = 0
    seconds: float = 0.0
    accept_ms: dict[str, list[float]] = field(default_factory=lambda: {"wait": [], "no_wait": []})
    flow_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "flows": self.flows,
            "failed": self.failed,
            "seconds": self.seconds,
            "flows_per_s": self.flows / self.seconds if self.seconds else 0.0,
            "flow_p50_ms": pct(self.flow_ms, 50),
            "flow_p99_ms": pct(self.flow_ms, 99),
            "errors": dict(Counter(self.errors).most_common(5)),
        }
        for mode, ms in self.accept_ms.items():
            out[f"accept_{mode}_p50_ms"] = pct(ms, 50)
            out[f"accept_{mode}_p99_ms"] = pct(ms, 99)
        return out


def pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    if p >= 100:
        return max(values)
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


async def one_flow(http: Client, stack: Stack, watch: Watch, wait: bool, run: FlowRun) -> None:
    started = time.perf_counter()
    user = await new_user(http, stack)
    payment = await flows.pay(http, stack, user, prefer="wait=10" if wait else None)
    run.accept_ms["wait" if wait else "no_wait"].append((time.perf_counter() - started) * 1000)
    if payment.get("confirmation_url") is None:
        payment = await flows.wait_for_status(
            http, stack, user, payment["payment_id"], _has_page, every=POLL_S
        )
    await flows.confirm(http, stack, payment, flows.GOOD_CARD)
    await _granted_and_notified(http, stack, watch, user)
    final = await flows.get_payment(http, stack, user, payment["payment_id"])
    if final["status"] != "succeeded":
        raise RuntimeError(f"payment {payment['payment_id']} is {final['status']}")
    run.flow_ms.append((time.perf_counter() - started) * 1000)


def _has_page(payment: dict[str, Any]) -> bool:
    return payment["confirmation_url"] is not None or payment["status"] in flows.FINAL


async def _granted_and_notified(http: Client, stack: Stack, watch: Watch, user: User) -> None:
    """The watcher saw the grant and a notification; Auth's roles say the same."""
    if not await watch.arrived(str(user.id), within=60):
        raise RuntimeError(f"user {user.id}: no role grant and notification within 60 s")
    roles = await flows.roles(http, stack, user)
    if ROLE not in roles:
        raise RuntimeError(f"user {user.id}: granted, but Auth's roles are {roles}")


async def drive(stack: Stack, n: int, concurrency: int, deadline_s: float) -> FlowRun:
    """Run n flows, at most `concurrency` at once; give up on what is left at the deadline."""
    run = FlowRun()
    gate = asyncio.Semaphore(concurrency)
    # aiohttp's pool, not httpx's: httpx's own pool costs O(connections) per request, which at
    # 100 flows at once made the generator cost more CPU than the stack's Python (round 7);
    # and not httpx's API on it either, whose own layer cost as much again (round 11).
    async with (
        LeanClient(max_connections=concurrency * 2, timeout_s=30) as http,
        Watch.running(http, stack) as watch,
    ):

        async def guarded(i: int) -> None:
            async with gate:
                try:
                    await one_flow(http, stack, watch, wait=i % 2 == 0, run=run)
                    run.flows += 1
                except FAILED as exc:
                    run.failed += 1
                    run.errors.append(f"{type(exc).__name__}: {exc}"[:200])

        started = time.perf_counter()
        tasks = [asyncio.create_task(guarded(i)) for i in range(n)]
        _, pending = await asyncio.wait(tasks, timeout=deadline_s)
        for task in pending:
            task.cancel()
        run.failed += len(pending)
        run.seconds = time.perf_counter() - started
    return run


async def tokens(stack: Stack, n: int) -> list[str]:
    async with httpx.AsyncClient(timeout=10) as http:
        users = [await new_user(http, stack) for _ in range(n)]
    return [u.headers["Authorization"].removeprefix("Bearer ") for u in users]
