"""`python -m consumers.subscriptions.reconciler`: Auth's role kept true, not hoped true.

Every `ACCESS_RECONCILE_INTERVAL_S` it compares, for every live subscription and every one
that changed within `ACCESS_RECONCILE_WINDOW_S`, who should hold the subscriber role (the
subscription record) with who does (Auth's `GET /api/v1/users/{id}/roles`), and repairs a
difference through the same idempotent calls and the same subscribers-row write as the
consumer (under the same per-user lock, re-checking the truth after the call). Whatever
left them apart — a dead letter, an operator's hand in Auth, a bug — is undone within one
pass. Repairs are counted in `billing_access_repairs_total` on this process's /metrics
(`ACCESS_RECONCILE_METRICS_PORT`).
"""

import asyncio
import logging
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from prometheus_client import Counter
from pydantic import Field

from common import process
from common.db import create_pool
from common.retry import pause
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

_CANDIDATES = """
SELECT user_id FROM payments_history.subscriptions
WHERE status = ANY($2::text[]) OR updated_at > now() - make_interval(secs => $1)
ORDER BY user_id
"""


class ReconcilerSettings(ConsumerSettings):
    access_reconcile_interval_s: float = Field(default=30.0, gt=0)
    access_reconcile_window_s: float = Field(default=2 * 86400.0, ge=0)


@dataclass(frozen=True)
class AccessReconciler:
    pool: asyncpg.Pool
    auth: AuthClient

    async def run_once(self, window_s: float, stop: asyncio.Event | None = None) -> int:
        """One pass over the candidates (cut short by `stop`); the number of repairs made."""
        repaired = 0
        for record in await self.pool.fetch(_CANDIDATES, window_s, sorted(LIVE)):
            if stop is not None and stop.is_set():
                break  # a pass over many users must not hold a graceful stop up
            try:
                repaired += await self.check(record["user_id"])
            except ConsumerError as exc:  # Auth away: the next pass tries again
                log.warning("access check of %s failed: %s", record["user_id"], exc)
        return repaired

    async def check(self, user_id: UUID) -> int:
        CHECKED.inc()
        target, current = await target_and_current(self.pool, user_id)
        holds = ROLE in await self.auth.roles(user_id)
        if holds == target.active:
            # Most passes find everything equal: no transaction and lock then (whoever moves
            # the truth later writes the row itself, under the lock).
            if needs_change(target, current):
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
            while not stop.is_set():
                try:
                    await reconciler.run_once(settings.access_reconcile_window_s, stop)
                except (OSError, asyncpg.PostgresError):
                    log.exception("access reconcile pass failed; retrying")
                await pause(stop, settings.access_reconcile_interval_s)
    finally:
        await pool.close()


def main() -> None:
    """Logs, /metrics (common.metrics: `access-reconciler`), SIGTERM → a graceful stop."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per user per pass otherwise
    process.main("access-reconciler", ReconcilerSettings(), run)


if __name__ == "__main__":
    main()
