"""Deliveries per day and status, for the admin's chart; the topics in use, for its filter."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db.models import Count, Model, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..compat import database_timezone
from ..conf import get_settings
from ..models import ReceivedEvent

CACHE_SECONDS = 60
#: The chart shows the retention window, but never more than this many days:
#: a retention of decades would otherwise draw a bar per day on every page view.
CHART_MAX_DAYS = 366
STATUSES = tuple(ReceivedEvent.Status.values)


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def deliveries_per_day(
    days: int | None = None, events: QuerySet[ReceivedEvent] | None = None
) -> list[Day]:
    """One entry per day of the retention window (at most ``CHART_MAX_DAYS``), oldest
    first, split by status; of ``events`` (the admin list's filtered queryset) or all.

    One grouped query over the ``received_at`` index, cached for a minute per
    query so a busy changelist does not repeat it on every page view. Only
    dates are subtracted here, at most a year from today: no instant can
    leave the calendar (see :mod:`django_thinkific.timestamps`).
    """
    days = min(days or get_settings().event_retention_days, CHART_MAX_DAYS)
    today = timezone.localdate()
    events = (ReceivedEvent.objects.all() if events is None else events).order_by()
    key = f"django_thinkific:deliveries_per_day:{days}:{today.isoformat()}:{_query_key(events)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    rows = (
        events.filter(received_at__gte=start)
        .annotate(day=TruncDate("received_at", tzinfo=database_timezone()))
        .values("day", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    table = {first + timedelta(days=i): dict.fromkeys(STATUSES, 0) for i in range(days)}
    for row in rows:
        if row["day"] in table and row["status"] in STATUSES:
            table[row["day"]][row["status"]] += row["n"]
    result = [Day(day, counts) for day, counts in table.items()]
    cache.set(key, result, CACHE_SECONDS)
    return result


def _query_key(events: QuerySet[ReceivedEvent]) -> str:
    """A short digest of the query, so each filtered list has its own cached chart."""
    try:
        sql, params = events.query.sql_with_params()
    except EmptyResultSet:  # a filter that can match nothing (``pk__in=[]``)
        sql, params = "empty", ()
    return hashlib.sha256(f"{events.db}\x00{sql}\x00{params!r}".encode()).hexdigest()[:32]


def topics_in_use(model: type[Model], field: str = "topic") -> list[str]:
    """The distinct values of ``model.field``, sorted; cached for a minute.

    For the admin's topic filter, which also lists a topic Thinkific added
    after this release. One ``DISTINCT`` over the topic index.
    """
    key = f"django_thinkific:topics_in_use:{model._meta.label_lower}:{field}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = sorted(model._default_manager.order_by().values_list(field, flat=True).distinct())
    cache.set(key, result, CACHE_SECONDS)
    return result
