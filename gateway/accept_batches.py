"""The accept statement of concurrent POSTs, run as one (`common.batching`).

`POST /api/v1/payments` asks PostgreSQL one statement (`repository.insert_or_existing`: the
caller's rate-limit token, then the new or existing row). While `writers` of them are in
flight, the POSTs that arrive wait and run together as the next: one multi-row statement
(`repository.insert_or_existing_many`), one round trip, one commit and one pool connection
for up to `max_batch` of them, each answered with the row it would have had alone. Below
that, a POST runs its own statement at once (no timer, no added latency when the gateway
keeps up); batches form when it does not, the more the busier, which is when one
statement's work for many is worth having. Two writers rather than one: a POST then waits
for a statement in flight only when two are, which keeps the wait (a statement's round trip
and commit, and the event loop's turns in between) out of the latency at moderate rates.

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
    def __init__(
        self, db: Database, limiter: RateLimiter, max_batch: int = 64, writers: int = 2
    ) -> None:
        super().__init__(max_batch, writers=writers)
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
