"""Counting a million rows on every page view is what makes big admin lists slow.

The changelist shows PostgreSQL's planner estimate when it is large (and says "about"
through `show_full_result_count = False`); small results are counted exactly.
"""

import json
from functools import cached_property

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet

EXACT_BELOW = 10_000


def estimated_count(queryset: QuerySet) -> int:
    try:
        query = queryset.select_related(None).order_by().values("pk").query
        sql, params = query.sql_with_params()
    except EmptyResultSet:  # e.g. .none(): nothing to count
        return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        estimate = estimated_count(queryset)
        if estimate >= EXACT_BELOW:
            return estimate
        return queryset.count()
