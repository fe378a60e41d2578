"""`python -m consumers.subscriptions.reconciler`: Auth's role kept true, not hoped true.

Every `ACCESS_RECONCILE_INTERVAL_S` a pass compares who should hold the subscriber role (the
subscription record) with who does (Auth's `GET /api/v1/users/{id}/roles`), and repairs a
difference through the same idempotent calls and the same subscribers-row write as the
consumer (under the same per-user lock, re-checking the truth after the call).

A pass checks (`Passes`):
* every subscription that changed since the previous pass began (the first pass after a
  start: within `ACCESS_RECONCILE_WINDOW_S`), so whatever left a change unapplied — a dead
  letter, a bug — is undone within one pass; a change the previous pass already checked (the
  same `updated_at`, seen again because a pass looks back one interval further) is not asked
  about twice;
* the next `ACCESS_RECONCILE_SWEEP_BATCH` of the sweep over every live subscription and every
  one that changed within the window, in user order, so a difference made outside Billing
  (an operator's hand in Auth) is undone within one full sweep: ⌈live / batch⌉ passes.
A pass costs what changed plus one batch, not the whole subscriber base (it did: every live
user's Auth role read every 30 s). Repairs are counted in `billing_access_repairs_total` on
this process's /metrics (`ACCESS_RECONCILE_METRICS_PORT`).
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
from prometheus_client import Counter
from pydantic import Field

from common import process
from common.db import create_pool
from common.retry import pause
from consumers import outbound
from consumers.errors import ConsumerError
from consumers.outbound import make_client
from consumers.settings import ConsumerSettings
from consumers.subscriptions import repository as repo
from consumers.subscriptions.auth import ROLE, AuthClient
from consumers.subscriptions.handler import target_and_current
from consumers.subscriptions.state import needs_change
from domain.subscriptions import LIVE

log = logging.getLogger(__name__)

REPAIRS = Counter(
    "billing_access_repairs", "Auth roles repaired to match the subscription", ["action"]
)
CHECKED = Counter("billing_access_checked", "Users whose Auth role was compared with the truth")

_CHANGED = "SELECT user_id, updated_at FROM payments_history.subscriptions WHERE updated_at > $1"
_SWEEP = """
SELECT user_id FROM payments_history.subscriptions
WHERE user_id > $1
  AND (status = ANY($2::text[]) OR updated_at > now() - make_interval(secs => $3))
ORDER BY user_id LIMIT $4
"""
_START = UUID(int=0)


class ReconcilerSettings(ConsumerSettings):
    access_reconcile_interval_s: float = Field(default=30.0, gt=0)
    access_reconcile_window_s: float = Field(default=2 * 86400.0, ge=0)
    access_reconcile_sweep_batch: int = Field(default=200, gt=0)


@dataclass
class Passes:
    """Which users each pass checks: what changed since the previous pass began, the next
    slice of the sweep, and whoever the previous pass could not check (see the module's
    docstring). A pass that ends without `done` (PostgreSQL lost midway) is repeated whole."""

    window_s: float
    sweep_batch: int
    interval_s: float
    after: UUID = _START  # the sweep's position: the last user of the previous slice
    since: datetime | None = None  # the previous pass's start, less one interval
    failed: frozenset[UUID] = frozenset()  # Auth was away when the previous pass asked
    checked: dict[UUID, datetime] = field(default_factory=dict)  # the previous pass's changes
    _next: tuple[datetime, UUID, dict[UUID, datetime]] | None = None  # once this pass is done

    async def next(self, pool: asyncpg.Pool) -> list[UUID]:
        async with pool.acquire() as conn:
            began: datetime = await conn.fetchval("SELECT now()")
            since = self.since or began - timedelta(seconds=self.window_s)
            changed = {r["user_id"]: r["updated_at"] for r in await conn.fetch(_CHANGED, since)}
            live = sorted(LIVE)
            batch = await conn.fetch(_SWEEP, self.after, live, self.window_s, self.sweep_batch)
        # updated_at is a transaction's start: one that began before this pass may commit
        # after its read, so the next pass looks back one interval further — and skips what
        # it finds there unchanged since this pass checked it.
        after = batch[-1]["user_id"] if len(batch) == self.sweep_batch else _START
        self._next = (began - timedelta(seconds=self.interval_s), after, changed)
        new = {user for user, at in changed.items() if self.checked.get(user) != at}
        return sorted(new | {r["user_id"] for r in batch} | self.failed)

    def done(self, failed: set[UUID]) -> None:
        """The pass ended: the next one starts where it began, and asks again for `failed`."""
        if self._next is not None:
            self.since, self.after, changed = self._next
            self.checked = {user: at for user, at in changed.items() if user not in failed}
        self.failed = frozenset(failed)


@dataclass(frozen=True)
class AccessReconciler:
    pool: asyncpg.Pool
    auth: AuthClient

    async def run_once(self, passes: Passes, stop: asyncio.Event | None = None) -> int:
        """One pass over the users `passes` names, cut short by `stop` (the first pass after
        a start can be long); the number of repairs made."""
        repaired, failed = 0, set()
        for user_id in await passes.next(self.pool):
            if stop is not None and stop.is_set():
                return repaired
            try:
                repaired += await self.check(user_id)
            except ConsumerError as exc:  # Auth away: the next pass tries again
                failed.add(user_id)
                log.warning("access check of %s failed: %s", user_id, exc)
        passes.done(failed)
        return repaired

    async def check(self, user_id: UUID) -> int:
        CHECKED.inc()
        target, current = await target_and_current(self.pool, user_id)
        holds = ROLE in await self.auth.roles(user_id)
        if holds == target.active:
            if needs_change(target, current):  # Auth is right, our row is not
                await self._write_row(user_id)
            return 0
        await (self.auth.grant if target.active else self.auth.revoke)(user_id)
        REPAIRS.labels("grant" if target.active else "revoke").inc()
        log.warning(
            "user %s: Auth role repaired (%s)", user_id, "granted" if target.active else "revoked"
        )
        if not await self._write_row(user_id, told=target.active):
            return 1 + await self.check(user_id)  # the truth moved meanwhile: tell Auth again
        return 1

    async def _write_row(self, user_id: UUID, told: bool | None = None) -> bool:
        """The subscribers row made equal to the truth; False if the truth moved from `told`."""
        async with self.pool.acquire() as conn, conn.transaction():
            await repo.lock_user(conn, user_id)
            target, current = await target_and_current(conn, user_id)
            if told is not None and target.active != told:
                return False
            if needs_change(target, current):
                await repo.save(conn, user_id, target)
            return True


async def run(settings: ReconcilerSettings, stop: asyncio.Event) -> None:
    pool = await create_pool(settings)
    token = settings.auth_service_token
    try:
        async with make_client(settings.consumer_http_timeout_seconds) as client:
            auth = AuthClient(
                client, settings.auth_url, token.get_secret_value() if token else None
            )
            reconciler = AccessReconciler(pool, auth)
            passes = Passes(
                settings.access_reconcile_window_s,
                settings.access_reconcile_sweep_batch,
                settings.access_reconcile_interval_s,
            )
            while not stop.is_set():
                try:
                    await reconciler.run_once(passes, stop)
                except (OSError, asyncpg.PostgresError):
                    log.exception("access reconcile pass failed; retrying")
                await pause(stop, settings.access_reconcile_interval_s)
    finally:
        await pool.close()


def main() -> None:
    """Logs, /metrics (common.metrics: `access-reconciler`), SIGTERM → a graceful stop."""
    logging.getLogger(outbound.__name__).setLevel(logging.WARNING)  # a line per user per pass
    process.main("access-reconciler", ReconcilerSettings(), run)


if __name__ == "__main__":
    main()
