"""The accept statement of concurrent POSTs, run as one (`common.batching`).

`POST /api/v1/payments` asks PostgreSQL one statement (`repository.insert_or_existing`: the
caller's rate-limit token, then the new or existing row). POSTs that arrive while one is in
flight wait and run together as the next: one multi-row statement
(`repository.insert_or_existing_many`), one round trip, one commit and one pool connection
for up to `max_batch` of them, each answered with the row it would have had alone. A lone
POST runs its own statement at once (no timer, no added latency when idle).

A batch holds one POST per user (the user's bucket and their (user, key) rows are written
once per statement) in user order, so that two gateways' batches lock the same rows in the
same order; a user's next POST waits for the next batch. A batch whose statement fails for
any reason — a connection lost, a lock timeout, a value PostgreSQL refuses — rolled back
whole (one statement: no token taken, no row written), and each of its POSTs runs its own
statement, as without batching: its error, if it has one, is its own. Each POST therefore
takes exactly one token from its bucket, in whichever statement commits.
"""

from asyncpg import Record

from common.batching import Batcher, Job
from gateway.database import Database
from gateway.ratelimit import RateLimiter
from gateway.repository import NewPayment, insert_or_existing, insert_or_existing_many

Accept = tuple[NewPayment, str]  # the new payment and the plan version it was priced from


class AcceptBatches(Batcher[Accept, Record]):
    def __init__(self, db: Database, limiter: RateLimiter, max_batch: int = 64) -> None:
        super().__init__(max_batch)
        self.db = db
        self.limiter = limiter

    async def accept(self, new: NewPayment, plan_version: str) -> Record:
        """`insert_or_existing`'s row for `new` (read it with `repository.accepted`)."""
        row: Record = await self.run(new.user_id, (new, plan_version))
        return row

    async def _together(self, batch: list[Job[Accept]]) -> list[Record]:
        async with self.db.connection() as conn:
            return await insert_or_existing_many(conn, [job.item for job in batch], self.limiter)

    async def _alone(self, item: Accept) -> Record:
        async with self.db.connection() as conn:
            return await insert_or_existing(conn, *item, self.limiter)

    async def _first(self, job: Job[Accept]) -> list[Record]:
        """A lone POST's own statement (its failure is its own: nothing to retry)."""
        return [await self._alone(job.item)]
