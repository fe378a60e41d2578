"""One watcher for every flow of a run: the role grants in Auth and the receipts in Notify.

Polling each user's roles and notifications every 0.5 s cost the load generator and the Auth
and Notify sandboxes more CPU per flow than the whole pipeline (round 6: 69 and 26 ms per
flow; Auth writes every call it gets, the polls included, to its call log). The watcher reads
both lists once per tick, only what arrived since the last `seq` it saw (`?after=`), and wakes
the flows whose grant or notification is there: two requests per tick for the whole run.
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.stack.client import Client
from tests.stack.conftest import Stack

ROLE = "subscriber"
END = 2**63 - 1  # the largest `after` the sandboxes take: nothing is after it


@dataclass
class Arrivals:
    """What has arrived per user, as events a flow can wait on (set before or after it asks)."""

    granted: defaultdict[str, asyncio.Event] = field(
        default_factory=lambda: defaultdict(asyncio.Event)
    )
    notified: defaultdict[str, asyncio.Event] = field(
        default_factory=lambda: defaultdict(asyncio.Event)
    )
    auth_seq: int = 0
    notify_seq: int = 0

    def read_calls(self, items: list[dict[str, Any]]) -> None:
        """A successful grant of the subscriber role is a `POST …/users/{id}/roles` with
        `{"role": "subscriber"}` that Auth answered with a 2xx."""
        for call in items:
            self.auth_seq = max(self.auth_seq, int(call["seq"]))
            body = call.get("body")
            if (
                call["method"] == "POST"
                and call["path"].endswith("/roles")
                and call["ok"]
                and isinstance(body, dict)
                and body.get("role") == ROLE
                and call["user_id"]
            ):
                self.granted[call["user_id"]].set()

    def read_receipts(self, items: list[dict[str, Any]]) -> None:
        for receipt in items:
            self.notify_seq = max(self.notify_seq, int(receipt["seq"]))
            self.notified[receipt["user_id"]].set()


class Watch:
    """`async with Watch.running(http, stack) as watch`: `await watch.arrived(user_id, within)`
    returns once the user's role grant and a notification were both seen."""

    def __init__(self, http: Client, stack: Stack, every: float) -> None:
        self.http, self.stack, self.every = http, stack, every
        self.seen = Arrivals()

    @classmethod
    @contextlib.asynccontextmanager
    async def running(
        cls, http: Client, stack: Stack, every: float = 0.25
    ) -> AsyncIterator["Watch"]:
        watch = cls(http, stack, every)
        await watch.skip_the_past()
        task = asyncio.create_task(watch.loop())
        try:
            yield watch
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def skip_the_past(self) -> None:
        """Start after what is already there (users of earlier runs are not this run's),
        without reading it: a reused stack's Auth log holds 100,000s of calls."""
        self.seen.auth_seq = await self._last_seq(f"{self.stack.auth}/api/v1/calls")
        self.seen.notify_seq = await self._last_seq(f"{self.stack.notify}/api/v1/notifications")

    async def _last_seq(self, url: str) -> int:
        response = await self.http.get(url, params={"after": END})
        response.raise_for_status()
        return int(response.json()["last_seq"])

    async def loop(self) -> None:
        """A failed read is tried again next tick and said once; the flows' own deadlines
        bound the wait."""
        said = False
        while True:
            try:
                await self.tick()
            except (aiohttp.ClientError, TimeoutError, RuntimeError, KeyError, ValueError) as exc:
                if not said:
                    print(f"watch: reading the sandboxes failed ({exc!r}); trying again")
                    said = True
            await asyncio.sleep(self.every)

    async def tick(self) -> None:
        calls, receipts = await self._read()
        self.seen.read_calls(calls)
        self.seen.read_receipts(receipts)

    async def arrived(self, user_id: str, within: float) -> bool:
        waits = (self.seen.granted[user_id].wait(), self.seen.notified[user_id].wait())
        try:
            await asyncio.wait_for(asyncio.gather(*waits), within)
        except TimeoutError:
            return False
        return True

    async def _read(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        calls = await self.http.get(
            f"{self.stack.auth}/api/v1/calls", params={"after": self.seen.auth_seq}
        )
        receipts = await self.http.get(
            f"{self.stack.notify}/api/v1/notifications", params={"after": self.seen.notify_seq}
        )
        calls.raise_for_status()
        receipts.raise_for_status()
        return list(calls.json()["items"]), list(receipts.json()["items"])
