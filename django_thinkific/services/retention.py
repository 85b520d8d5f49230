"""Pruning received events past the retention window, without blocking the receiver.

Events are inserted in time order, so ids and ``received_at`` rise together
and the expired rows are (nearly) the lowest ids. Each batch is one statement
over a primary-key range, in its own short transaction:

    DELETE FROM events WHERE id > %s AND id <= %s AND received_at < %s

A pk range reads neighbouring heap pages through the primary key, the
cheapest way to reach the rows. The ranges run from the smallest id to the
id of the newest expired event; then a catch-up pass with
``id IN (SELECT id ... WHERE received_at < %s ORDER BY received_at LIMIT n)``
removes any straggler whose id is out of order (normally none).

Each deleted event leaves its id behind in ``PrunedEvent`` (a tombstone), in
the same transaction as the delete (on PostgreSQL in the same statement:
``WITH gone AS (DELETE ... RETURNING ...) INSERT INTO pruned ...``), so a
replay of its captured delivery is still recognised; tombstones older than
``REPLAY_WINDOW_DAYS`` are deleted in turn, in batches too.

On PostgreSQL each batch commits with ``synchronous_commit = off`` (for that
transaction only): a deletion lost in a crash is simply redone next time
(its tombstone is lost or kept with it, never apart from it).

No row reaches Python and no model instance is built, so memory stays flat
whatever the table size; each batch holds its locks for milliseconds, so
deliveries keep being stored meanwhile. Django's ``QuerySet.delete()`` is not
used: it fetches every row whenever a ``pre_delete``/``post_delete`` receiver
is connected to the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, router, transaction
from django.utils import timezone

from ..conf import get_settings
from ..models import PrunedEvent, ReceivedEvent
from ..timestamps import USABLE_MIN, days_before

logger = logging.getLogger("django_thinkific.retention")


@dataclass(frozen=True)
class PruneReport:
    deleted: int
    batches: int
    cutoff: datetime
    dry_run: bool = False
    forgotten: int = 0  # tombstones older than REPLAY_WINDOW_DAYS removed


def cutoff_for(days: int, *, now: datetime | None = None) -> datetime:
    return days_before(now or timezone.now(), days) or USABLE_MIN  # past year 1: keep all


class _SQL:
    """The statements, with the model's quoted identifiers (values are parameters).

    Each ``delete_*`` statement deletes the events matched by its condition and
    writes their tombstones; run with :func:`_run`, it returns the number deleted.
    """

    def __init__(self, db: str) -> None:
        connection = connections[db]
        quote = connection.ops.quote_name
        self.postgresql = connection.vendor == "postgresql"
        t = quote(ReceivedEvent._meta.db_table)
        pk = quote(ReceivedEvent._meta.pk.column)
        at = quote(ReceivedEvent._meta.get_field("received_at").column)
        eid = quote(ReceivedEvent._meta.get_field("event_id").column)
        self._t, self._eid, self._at = t, eid, at
        self._tomb = quote(PrunedEvent._meta.db_table)
        self._tomb_id = quote(PrunedEvent._meta.pk.column)
        self._tomb_at = quote(PrunedEvent._meta.get_field("received_at").column)
        self.bounds = (
            f"SELECT (SELECT MIN({pk}) FROM {t}), "  # noqa: S608
            f"(SELECT {pk} FROM {t} WHERE {at} < %s ORDER BY {at} DESC LIMIT 1)"
        )
        self.delete_range = self._delete(f"{pk} > %s AND {pk} <= %s AND {at} < %s")
        self.delete_catch_up = self._delete(
            f"{pk} IN (SELECT {pk} FROM {t} WHERE {at} < %s ORDER BY {at} LIMIT %s)"  # noqa: S608
        )
        self.forget = (
            f"DELETE FROM {self._tomb} WHERE {self._tomb_id} IN ("  # noqa: S608
            f"SELECT {self._tomb_id} FROM {self._tomb} WHERE {self._tomb_at} < %s LIMIT %s)"
        )

    def _delete(self, condition: str) -> list[str]:
        t, eid, at, tomb = self._t, self._eid, self._at, self._tomb
        columns = f"{self._tomb_id}, {self._tomb_at}"
        if self.postgresql:
            return [
                f"WITH gone AS (DELETE FROM {t} WHERE {condition} RETURNING {eid}, {at}), "  # noqa: S608
                f"kept AS (INSERT INTO {tomb} ({columns}) SELECT {eid}, {at} FROM gone "
                f"ON CONFLICT ({self._tomb_id}) DO NOTHING) SELECT COUNT(*) FROM gone"
            ]
        return [
            f"INSERT INTO {tomb} ({columns}) SELECT {eid}, {at} FROM {t} "  # noqa: S608
            f"WHERE {condition} AND NOT EXISTS "
            f"(SELECT 1 FROM {tomb} WHERE {tomb}.{self._tomb_id} = {t}.{eid})",
            f"DELETE FROM {t} WHERE {condition}",  # noqa: S608
        ]


def _run(db: str, statements: list[str], params: list[int | datetime]) -> int:
    """Run ``statements`` in one short transaction; the count the last one reports."""
    connection = connections[db]
    with transaction.atomic(using=db), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A prune's deletes need not be durable one by one: after a crash the
            # rows come back and the next prune removes them. Not waiting for the
            # WAL flush at each of hundreds of commits is most of the speed.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        for sql in statements:
            cursor.execute(sql, params)
        if connection.vendor == "postgresql" and statements[-1].startswith("WITH"):
            return int(cursor.fetchone()[0])
        return cursor.rowcount


def prune(
    *,
    days: int | None = None,
    batch_size: int | None = None,
    dry_run: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> PruneReport:
    """Delete events received more than ``days`` ago (default ``EVENT_RETENTION_DAYS``).

    ``on_batch(batch_number, deleted_so_far)`` is called after each batch.
    """
    conf = get_settings()
    days = conf.event_retention_days if days is None else days
    batch_size = conf.prune_batch_size if batch_size is None else batch_size
    if days < 1 or batch_size < 1:
        raise ValueError("days and batch size must be at least 1")
    cutoff = cutoff_for(days)
    replay_cutoff = cutoff_for(max(conf.replay_window_days, days))
    db = router.db_for_write(ReceivedEvent)
    if dry_run:
        count = ReceivedEvent.objects.using(db).filter(received_at__lt=cutoff).count()
        return PruneReport(deleted=count, batches=0, cutoff=cutoff, dry_run=True)

    sql = _SQL(db)
    with connections[db].cursor() as cursor:
        cursor.execute(sql.bounds, [cutoff])
        lowest, newest_expired = cursor.fetchone()
    deleted = batches = 0

    def batch_done(count: int) -> None:
        nonlocal deleted, batches
        batches += 1
        deleted += count
        if on_batch:
            on_batch(batches, deleted)

    if lowest is not None and newest_expired is not None:
        low = lowest - 1
        while low < newest_expired:
            high = min(low + batch_size, newest_expired)
            batch_done(_run(db, sql.delete_range, [low, high, cutoff]))
            low = high
    while True:  # stragglers whose id is out of time order; normally one empty pass
        count = _run(db, sql.delete_catch_up, [cutoff, batch_size])
        if count or not batches:
            batch_done(count)
        if count < batch_size:
            break
    forgotten = 0
    while True:  # tombstones past the replay window
        count = _run(db, [sql.forget], [replay_cutoff, batch_size])
        forgotten += count
        if count < batch_size:
            break
    logger.info(
        "Pruned %d received events older than %d days (before %s) in %d batches",
        deleted,
        days,
        cutoff.isoformat(timespec="seconds"),
        batches,
    )
    return PruneReport(deleted=deleted, batches=batches, cutoff=cutoff, forgotten=forgotten)
