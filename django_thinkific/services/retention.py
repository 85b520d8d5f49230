"""Pruning received events past the retention window, without blocking the receiver.

Each batch is one statement in its own short transaction:

    DELETE FROM events WHERE id IN (
        SELECT id FROM events WHERE received_at < %s ORDER BY received_at LIMIT %s)

The subquery walks the ``received_at`` index from the oldest row, so a batch
touches only the rows it deletes; no row reaches Python and no model instance
is built, so memory stays flat whatever the table size; and the lock on each
batch is held for milliseconds, so deliveries keep being stored meanwhile.
Django's ``QuerySet.delete()`` is not used: it would fetch every row whenever
any ``pre_delete``/``post_delete`` receiver is connected to the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.utils import timezone

from ..conf import get_settings
from ..models import ReceivedEvent

logger = logging.getLogger("django_thinkific.retention")


@dataclass(frozen=True)
class PruneReport:
    deleted: int
    batches: int
    cutoff: datetime
    dry_run: bool = False


def cutoff_for(days: int, *, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def _delete_sql(db: str) -> str:
    quote = connections[db].ops.quote_name
    table = quote(ReceivedEvent._meta.db_table)
    pk = quote(ReceivedEvent._meta.pk.column)
    received = quote(ReceivedEvent._meta.get_field("received_at").column)
    # Only quoted identifiers from the model are interpolated; values are parameters.
    return (
        f"DELETE FROM {table} WHERE {pk} IN ("  # noqa: S608
        f"SELECT {pk} FROM {table} WHERE {received} < %s ORDER BY {received} LIMIT %s)"
    )


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
    db = router.db_for_write(ReceivedEvent)
    if dry_run:
        count = ReceivedEvent.objects.using(db).filter(received_at__lt=cutoff).count()
        return PruneReport(deleted=count, batches=0, cutoff=cutoff, dry_run=True)

    sql = _delete_sql(db)
    deleted = batches = 0
    while True:
        with transaction.atomic(using=db), connections[db].cursor() as cursor:
            cursor.execute(sql, [cutoff, batch_size])
            done = cursor.rowcount
        batches += 1
        deleted += done
        if on_batch:
            on_batch(batches, deleted)
        if done < batch_size:
            break
    logger.info(
        "Pruned %d received events older than %d days (before %s) in %d batches",
        deleted,
        days,
        cutoff.isoformat(timespec="seconds"),
        batches,
    )
    return PruneReport(deleted=deleted, batches=batches, cutoff=cutoff)
