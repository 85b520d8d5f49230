"""The one rule for timestamps: Thinkific's, query parameters' and our own cut-offs.

Python's ``datetime`` covers years 1 to 9999, and a value is only usable if it
stays inside that range in *every* time zone it may be shown in: a stored
``9999-12-31T23:00:00Z`` is valid in UTC and an ``OverflowError`` the moment
the admin renders it for a site east of UTC. PostgreSQL's ``timestamptz``
accepts far more (up to year 294276), so a value it stored may be one that
psycopg can no longer read back.

A timestamp is therefore *usable* when, in UTC, it lies at least a day from
either edge (no time zone is more than 26 hours from UTC). Anything else
coming from outside (a delivery's signed ``created_at``, a webhook's dates in
an API answer) is kept as no timestamp at all; the event or webhook itself is
never lost for it.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from datetime import timezone as dt_timezone

from django.utils.dateparse import parse_date, parse_datetime

UTC = dt_timezone.utc

#: The earliest and latest usable instants (inclusive), in UTC.
USABLE_MIN = datetime(1, 1, 2, tzinfo=UTC)
USABLE_MAX = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def usable(value: datetime) -> bool:
    """Whether an aware ``value`` can be stored, read back and shown in any time zone."""
    try:
        in_utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return False
    return USABLE_MIN <= in_utc <= USABLE_MAX


def parse_timestamp(
    value: object, *, naive_tz: tzinfo = UTC, dates: bool = False
) -> datetime | None:
    """An ISO 8601 timestamp, aware, usable and in UTC, or ``None``.

    ``None`` for anything that is not a string, not a timestamp, or not
    usable (see :func:`usable`). A timestamp without an offset is taken in
    ``naive_tz``: UTC by default, which is what Thinkific sends; a query
    parameter typed by a person passes the site's time zone. With ``dates``
    a bare date (``2024-05-01``) is accepted too, as midnight in ``naive_tz``.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        parsed = parse_datetime(text)
        if parsed is None and dates:
            day = parse_date(text)
            parsed = datetime.combine(day, time.min) if day is not None else None
    except (ValueError, OverflowError):  # well formed but impossible, e.g. 2024-02-30
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    return parsed.astimezone(UTC) if usable(parsed) else None


def days_before(moment: datetime, days: int) -> datetime | None:
    """``moment`` minus ``days`` days, or ``None`` when that is not a usable instant."""
    try:
        result = moment - timedelta(days=days)
    except OverflowError:
        return None
    return result if usable(result) else None


def max_days_before(moment: datetime) -> int:
    """The most whole days :func:`days_before` can take from ``moment`` (a usable result).

    The upper limit of every day count (a retention, ``--days``): more days
    than this reach back before year 1.
    """
    return max((moment - USABLE_MIN).days, 0)
