"""The active plans as last read, by id: a new payment is priced without reading its plan.

Never stale where it matters: `repository.insert_or_existing` inserts a payment only if its
plan's row is still exactly the version it was priced from (a digest of the whole row, in
the same statement), so a plan changed or deactivated in the admin is noticed by the next
payment, which then takes the long way (reading the plan afresh) and refreshes this cache.
Only plans found active are kept: a request naming any other id adds nothing.
"""

from asyncpg import Record


class PlanCache:
    def __init__(self) -> None:
        self._plans: dict[str, Record] = {}

    def get(self, plan_id: str) -> Record | None:
        return self._plans.get(plan_id)

    def put(self, plan_id: str, plan: Record | None) -> None:
        """Remember `plan` as read just now; None (not found or inactive) forgets the id."""
        if plan is None:
            self._plans.pop(plan_id, None)
        else:
            self._plans[plan_id] = plan
