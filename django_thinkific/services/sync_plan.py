"""What a sync changes, decided from plain data: no database, no HTTP.

:func:`~django_thinkific.services.subscriptions.sync` reads every page of
Thinkific's list (a :class:`Listing`), reads the rows under a lock, asks
:func:`plan_sync` what to do, and applies the :class:`SyncPlan`. Every rule of
the sync is here, testable with dictionaries:

* a listed webhook with no row is created, unless it was deleted here since the
  sync began (:func:`deleted_since`): the list may be older than the deletion;
* a listed webhook whose synced fields differ from its row is updated, unless
  the row was changed here since the sync began (its write is newer than the list);
* a row whose webhook is not listed is deleted, unless it was changed here since
  the sync began, or its webhook is listed but unusable (skipped, so kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The ``Subscription`` fields that mirror Thinkific's webhook object.
SYNCED_FIELDS = (
    "topic",
    "target_url",
    "status",
    "remote_created_at",
    "remote_updated_at",
    "created_by",
    "updated_by",
)


@dataclass(frozen=True)
class Listing:
    """Every page of Thinkific's list, as read."""

    #: The usable webhooks: ``{thinkific_id: {synced field: value}}``, in listed order.
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Ids listed only by items that cannot be stored: their rows are kept as they are.
    unusable: frozenset[str] = frozenset()
    #: One line per item that was not stored, saying why.
    skipped: tuple[str, ...] = ()
    pages: int = 0


@dataclass(frozen=True)
class SyncPlan:
    create: tuple[str, ...] = ()  # thinkific ids, in listed order
    update: tuple[str, ...] = ()  # thinkific ids, in listed order
    delete: tuple[Any, ...] = ()  # row pks
    keep: frozenset[str] = frozenset()  # rows left untouched, not even marked synced
    unchanged: int = 0  # listed, with a row already in step (or changed here meanwhile)


def deleted_since(
    existed: Set[str], buried: Set[str], rows: Iterable[str], tombstones: Iterable[str]
) -> set[str]:
    """Ids deleted here since the sync began: a row that ``existed`` at the start and is
    not among the ``rows`` now, or a tombstone that was not ``buried`` at the start (a
    webhook created and deleted while the list was read)."""
    return (set(existed) - set(rows)) | (set(tombstones) - set(buried))


def plan_sync(
    listing: Listing,
    local: Mapping[str, Mapping[str, Any]],
    *,
    deleted: Set[str],
    started: datetime,
) -> SyncPlan:
    """What to create, update and delete so that ``local`` mirrors ``listing``.

    ``local`` is every row, ``{thinkific_id: {"pk", "updated_at", *SYNCED_FIELDS}}``;
    ``deleted`` the ids deleted here since ``started``, when the sync began.
    """
    remote = listing.webhooks
    recent = {tid for tid, row in local.items() if row["updated_at"] >= started}
    create = tuple(tid for tid in remote if tid not in local and tid not in deleted)
    update = tuple(
        tid
        for tid, fields in remote.items()
        if tid in local
        and tid not in recent
        and any(local[tid][name] != fields[name] for name in SYNCED_FIELDS)
    )
    delete = tuple(
        row["pk"]
        for tid, row in local.items()
        if tid not in remote and tid not in listing.unusable and tid not in recent
    )
    listed = sum(1 for tid in remote if tid in local)
    return SyncPlan(
        create=create,
        update=update,
        delete=delete,
        keep=listing.unusable,
        unchanged=listed - len(update),
    )
