"""From a signed delivery to a stored event whose receivers ran (or are queued).

The order is the guarantee: verify the signature over the raw bytes, validate
the envelope, *store and commit* the event (the unique ``event_id`` makes a
retry or a racing twin land on the existing row), and only then dispatch.

Replays: Thinkific signs only the body, so a captured delivery verifies for
ever. While its event is stored, the unique ``event_id`` makes a replay a
duplicate; once the prune deleted it, its tombstone (``PrunedEvent``, kept
for ``REPLAY_WINDOW_DAYS``) does. The tombstone is looked up only where one
can exist: for an event whose signed ``created_at`` is missing or more than
half a day away from now, in the past or the future (the shortest retention
is a day), so live traffic pays nothing for it. The look-up follows the
INSERT, so an insert that raced with the prune of the same event (and waited
for its commit) sees the tombstone.
"""

from __future__ import annotations

import contextlib
import enum
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.db import DatabaseError, DataError, IntegrityError, connections, router, transaction
from django.utils import timezone

from ..conf import get_settings
from ..errors import EnvelopeError, InFlight, SignatureError, StorageUnavailable, TooOld
from ..models import PrunedEvent, ReceivedEvent
from ..signing import signature_matches
from . import dispatch, processing
from .envelope import Envelope, parse_envelope

__all__ = [  # the errors lived here once; they are errors.py's
    "InFlight",
    "Initial",
    "Receipt",
    "SignatureError",
    "StorageUnavailable",
    "TooOld",
    "receive",
    "store",
    "verify_signature",
]


class Initial(enum.Enum):
    """The state a new event's row is born in (:func:`store`)."""

    UNCLAIMED = "unclaimed"  # pending, never attempted: queued for Celery
    CLAIMED = "claimed"  # pending, attempt 1 taken by this process, which runs it now
    PROCESSED = "processed"  # attempt 1, by this process: no receiver is connected, nothing to run


#: A tombstone can exist only for an event received at least a day ago (the
#: shortest retention); half a day leaves room for a skewed ``created_at``.
TOMBSTONE_MIN_AGE = timedelta(hours=12)

#: Tries at storing a delivery whose row vanished between the INSERT and the read.
STORE_TRIES = 3


@dataclass(frozen=True)
class Receipt:
    """What became of a delivery: its stored event, or ``None`` for a pruned one's replay."""

    event: ReceivedEvent | None
    created: bool
    event_id: str = ""

    @property
    def status(self) -> str:
        return "pruned" if self.event is None else self.event.status


def verify_signature(body: bytes, signature: str | None, secrets: Iterable[str]) -> None:
    """Raise :class:`SignatureError` unless ``signature`` matches one of ``secrets``."""
    if not signature_matches(body, signature, secrets):
        raise SignatureError("wrong" if signature else "missing")


def store(envelope: Envelope, *, site: str, header_topic: str, initial: Initial) -> Receipt:
    """Insert the event, or find the row (or tombstone) an earlier delivery left.

    Relies on the unique constraint, not a read-then-write: of two racing
    inserts exactly one succeeds, and the other reads the winner's row.
    A new row is born in the ``initial`` state; born ``PROCESSED``, this one
    INSERT is the whole of the database work.
    """
    for _ in range(STORE_TRIES):
        receipt = _store_once(envelope, site=site, header_topic=header_topic, initial=initial)
        if receipt is not None:
            return receipt
    # The row kept vanishing between INSERT and read (deleted as fast as it came).
    raise StorageUnavailable(f"event {envelope.event_id} could not be stored or found")


def _may_be_pruned(envelope: Envelope, now: datetime) -> bool:
    """Unless it is dated within half a day of now, an event may be a pruned one's replay
    (a made-up date in the future included: a replay keeps whatever date it had)."""
    created = envelope.created_at
    return created is None or not now - TOMBSTONE_MIN_AGE <= created <= now + TOMBSTONE_MIN_AGE


def _pruned(event_id: str, db: str) -> bool:
    return PrunedEvent.objects.using(db).filter(event_id=event_id).exists()


def _store_once(
    envelope: Envelope, *, site: str, header_topic: str, initial: Initial
) -> Receipt | None:
    now = timezone.now()
    attempted = initial is not Initial.UNCLAIMED  # by this process, now (nothing to run counts)
    event = ReceivedEvent(
        event_id=envelope.event_id,
        topic=envelope.topic,
        resource=envelope.resource,
        action=envelope.action,
        tenant_id=envelope.tenant_id,
        site=site,
        header_topic=header_topic,
        payload=envelope.payload,
        thinkific_created_at=envelope.created_at,
        received_at=now,
        attempts=1 if attempted else 0,
        last_attempt_at=now if attempted else None,
    )
    if initial is Initial.PROCESSED:
        event.status = ReceivedEvent.Status.PROCESSED
        event.processed_at = now
    db = router.db_for_write(ReceivedEvent)
    connection = connections[db]
    check_tombstone = _may_be_pruned(envelope, now)
    try:
        if connection.in_atomic_block or check_tombstone:
            # Inside a caller's transaction a failed INSERT must not poison it;
            # with the tombstone look-up, a replay's row is undone with it.
            with transaction.atomic(using=db):
                inserted = _insert(event, db)
                if inserted and check_tombstone and _pruned(envelope.event_id, db):
                    raise _Replayed
        elif initial is Initial.CLAIMED and connection.vendor == "postgresql":
            # Committed (visible to every other connection) before the receivers
            # run, but without waiting for the WAL flush: the outcome's commit,
            # synchronous and before the answer, flushes the WAL through this
            # commit too. One fsync wait per delivery instead of two; a crash
            # before it means no 200 was sent, so Thinkific retries.
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
                inserted = _insert(event, db)
        else:
            # One autocommit statement is atomic by itself: no BEGIN/COMMIT round trips.
            inserted = _insert(event, db)
        if inserted:
            return Receipt(event, created=True, event_id=event.event_id)
    except _Replayed:
        return Receipt(None, created=False, event_id=envelope.event_id)
    except IntegrityError:
        pass  # the ORM fallback met the unique constraint: read the row below
    except DataError as exc:
        raise EnvelopeError("the event contains data the database cannot store") from exc
    except DatabaseError as exc:
        raise StorageUnavailable(str(exc)) from exc
    try:
        existing = ReceivedEvent.objects.using(db).filter(event_id=envelope.event_id).first()
        if existing is None and _pruned(envelope.event_id, db):
            return Receipt(None, created=False, event_id=envelope.event_id)
    except DatabaseError as exc:
        raise StorageUnavailable(str(exc)) from exc
    if existing is None:
        return None  # deleted between the INSERT and the read (not pruned): try again
    return Receipt(existing, created=False, event_id=existing.event_id)


class _Replayed(Exception):
    """The new row is a replay of a pruned event: roll its INSERT back."""


_INSERT_FIELDS = [f for f in ReceivedEvent._meta.concrete_fields if not f.primary_key]


@lru_cache(maxsize=8)
def _insert_sql(vendor: str, db: str) -> str:
    connection = connections[db]
    quote = connection.ops.quote_name
    opts = ReceivedEvent._meta
    columns = ", ".join(quote(f.column) for f in _INSERT_FIELDS)
    values = ", ".join(["%s"] * len(_INSERT_FIELDS))
    return (
        f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ({values}) "  # noqa: S608
        f"ON CONFLICT ({quote(opts.get_field('event_id').column)}) DO NOTHING "
        f"RETURNING {quote(opts.pk.column)}"
    )


def _insert(event: ReceivedEvent, db: str) -> bool:
    """Store ``event``; ``False`` when its ``event_id`` is already stored.

    One precompiled ``INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING id``:
    the unique constraint decides, a retry raises nothing, and the ORM's
    per-call SQL compilation (a third of the request's CPU in the profile) is
    skipped. Values go through each field's own ``get_db_prep_save``, exactly
    as ``Model.save()`` would send them. Other backends (MariaDB, MySQL, old
    SQLite) use ``Model.save()``; an ``IntegrityError`` then means "stored".
    """
    connection = connections[db]
    features = connection.features
    if not (
        features.can_return_rows_from_bulk_insert
        and features.supports_update_conflicts_with_target  # ON CONFLICT (col): PostgreSQL, SQLite
    ):
        event.save(force_insert=True, using=db)
        return True
    params = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in _INSERT_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(connection.vendor, db), params)
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk = row[0]
    event._state.adding = False
    event._state.db = db
    return True


def _header(value: str, limit: int) -> str:
    """A header recorded as text: decoded as UTF-8, control characters (C0, DEL, C1) dropped.

    WSGI (PEP 3333) and Django's ASGI handler hand header values over decoded
    as latin-1, so UTF-8 arrives as mojibake ("acadÃ©mie"): the bytes are
    recovered and decoded as UTF-8. Bytes that are not UTF-8 stay as latin-1
    read them; a value that is already wider text (a test client) is kept.
    """
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("latin-1").decode("utf-8")
    return "".join(ch for ch in value[:limit] if unicodedata.category(ch) != "Cc")


def receive(
    body: bytes, *, signature: str | None, site: str = "", header_topic: str = ""
) -> Receipt:
    """Verify, store and dispatch one delivery.

    Raises :class:`SignatureError` (401), :class:`EnvelopeError` (400),
    :class:`StorageUnavailable` or :class:`InFlight` (503), each carrying its
    answer (:class:`~django_thinkific.errors.DeliveryRefused`); anything a
    receiver raises is recorded on the event instead.
    """
    conf = get_settings()
    verify_signature(body, signature, conf.webhook_secrets)
    envelope = parse_envelope(body)
    _check_age(envelope, conf.max_event_age)
    sync = dispatch.runs_here()
    receipt = store(
        envelope,
        site=_header(site, 255),
        header_topic=_header(header_topic, 100),
        initial=_initial(envelope.topic, sync=sync),
    )
    try:
        dispatch.dispatch(receipt, sync=sync)
    except DatabaseError as exc:
        # Stored, but its outcome could not be recorded: ask for a retry,
        # which will find the row and finish the job.
        raise StorageUnavailable(str(exc)) from exc
    return receipt


def _initial(topic: str, *, sync: bool) -> Initial:
    if not sync:
        return Initial.UNCLAIMED
    return Initial.CLAIMED if processing.has_receivers(topic) else Initial.PROCESSED


def _check_age(envelope: Envelope, max_age_days: int | None) -> None:
    if max_age_days is None or envelope.created_at is None:
        return
    if envelope.created_at < timezone.now() - timedelta(days=max_age_days):
        raise TooOld(
            f"the event was created more than {max_age_days} days ago (MAX_EVENT_AGE); "
            "it is not accepted"
        )
