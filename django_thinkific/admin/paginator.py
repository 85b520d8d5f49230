"""A paginator that never counts a million rows on every page view."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

#: Up to this many rows the count is exact (and cheap: it stops at the limit).
EXACT_UP_TO = 10_000


class BoundedCountPaginator(Paginator):
    """Exact counts up to ``EXACT_UP_TO``; above it, PostgreSQL's planner estimate.

    ``COUNT(*)`` over a large table is a full scan on PostgreSQL. Counting a
    ``LIMIT``-ed subquery is bounded; past the limit the admin shows the
    planner's estimate, which is what an operator needs to page through.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)  # a list: nothing to bound or estimate
        bounded = queryset.order_by()[: EXACT_UP_TO + 1].count()
        if bounded <= EXACT_UP_TO:
            return bounded
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset.count()  # no cheap estimate elsewhere; such tables stay small
        sql, params = queryset.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        estimate = int(plan[0]["Plan"]["Plan Rows"])
        return max(estimate, EXACT_UP_TO + 1)
