"""Deliveries per day and status, for the admin's chart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..conf import get_settings
from ..models import ReceivedEvent

CACHE_SECONDS = 60
STATUSES = tuple(ReceivedEvent.Status.values)


@dataclass(frozen=True)
class Day:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def deliveries_per_day(days: int | None = None) -> list[Day]:
    """One entry per day of the retention window, oldest first, split by status.

    One grouped query over the ``received_at`` index, cached for a minute so
    a busy changelist does not repeat it on every page view.
    """
    days = days or get_settings().event_retention_days
    today = timezone.localdate()
    key = f"django_thinkific:deliveries_per_day:{days}:{today.isoformat()}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(timezone.datetime.combine(first, timezone.datetime.min.time()))
    rows = (
        ReceivedEvent.objects.filter(received_at__gte=start)
        .annotate(day=TruncDate("received_at"))
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
