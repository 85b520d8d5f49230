"""Running the signals for stored events, exactly once per successful attempt.

An event is *claimed* before its receivers run, with a compare-and-set on
``attempts`` (the row's version): ``UPDATE ... SET attempts = attempts + 1
WHERE pk = ? AND attempts = <seen> AND <claimable>``. Two processes that race
for the same event (a retried delivery, a second Celery task, an operator's
"process again") cannot both win, on SQLite or PostgreSQL, without any lock
held while receivers run.

Claimable means: failed; pending and never attempted; or pending but claimed
longer ago than ``PROCESSING_TIMEOUT`` (its process died). With ``force``
(an explicit "process again") an already processed event is claimable too.

Taking over a stale claim means the attempt before died (a segfault, an
out-of-memory kill) or overran the timeout; such *lost* attempts are counted,
and after ``MAX_LOST_ATTEMPTS`` the event is marked ``failed`` with a message
saying so instead of being run (and crashing its process) once more. The
sweep and redeliveries leave it alone from then on; "process again" runs it.

What a receiver raises is recorded, ``BaseException`` included (an awaited
task that was cancelled raises ``asyncio.CancelledError``); only the
exceptions that stop the process (``KeyboardInterrupt``, ``SystemExit``)
propagate, and leave the claim to expire. The receivers' ``on_commit``
callbacks run after the commit and cannot undo it (``commit_hooks``).
"""

from __future__ import annotations

import enum
import logging
import operator
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db import DatabaseError, connections, router, transaction
from django.db.models import F, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from ..compat import live_receivers
from ..conf import get_settings
from ..models import ReceivedEvent
from ..signals import signal_for, webhook_received
from . import commit_hooks
from .commit_hooks import PROCESS_EXITS

logger = logging.getLogger("django_thinkific.processing")

Status = ReceivedEvent.Status

#: Attempts whose process died before the event is failed instead of retried.
MAX_LOST_ATTEMPTS = 3


class Outcome(enum.Enum):
    """What one try at processing an event came to."""

    PROCESSED = "processed"  # every receiver succeeded; committed
    FAILED = "failed"  # recorded as failed, with the traceback (or why it was given up)
    NOT_OURS = "not ours"  # another process has it, or it needs nothing
    GONE = "gone"  # the event was deleted (pruned) meanwhile


class _ClaimLost(Exception):
    """Another process took the event over meanwhile: roll back, record nothing."""


class _ReceiversFailed(Exception):
    """Raised inside the receivers' transaction to roll back their writes."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report


def cutoff(now: datetime | None = None) -> datetime:
    """Claims (and never-attempted events) older than this are stale: ``PROCESSING_TIMEOUT``."""
    return (now or timezone.now()) - timedelta(seconds=get_settings().processing_timeout)


#: Lookups a claimable clause may use, as Python: SQL's comparison with NULL is never true.
_LOOKUPS: dict[str, Callable[[Any, Any], bool]] = {
    "exact": operator.eq,
    "lt": lambda value, bound: value is not None and value < bound,
    "gt": lambda value, bound: value is not None and value > bound,
    "isnull": lambda value, null: (value is None) is null,
}


def _claimable_clauses(*, force: bool) -> list[dict[str, Any]]:
    """The one rule for "claimable", as clauses (any one will do) of field lookups.

    :func:`claim` filters with them in SQL (:func:`_claimable`), and
    :func:`needs_processing` evaluates the very same clauses on an instance.
    """
    stale = {"status": Status.PENDING, "attempts__gt": 0}
    clauses: list[dict[str, Any]] = [
        {"status": Status.PENDING, "attempts": 0},  # never attempted
        {**stale, "last_attempt_at__lt": cutoff()},  # claimed, but its process died
        {**stale, "last_attempt_at__isnull": True},
    ]
    if force:  # an explicit "process again": finished events too
        return [*clauses, {"status": Status.FAILED}, {"status": Status.PROCESSED}]
    return [*clauses, {"status": Status.FAILED, "lost_attempts__lt": MAX_LOST_ATTEMPTS}]


def _claimable(*, force: bool) -> Q:
    return reduce(operator.or_, (Q(**clause) for clause in _claimable_clauses(force=force)))


def _holds(event: ReceivedEvent, clause: dict[str, Any]) -> bool:
    for key, wanted in clause.items():
        field, _, lookup = key.partition("__")
        if not _LOOKUPS[lookup or "exact"](getattr(event, field), wanted):
            return False
    return True


def _unfinished_claim(event: ReceivedEvent) -> bool:
    """Claimed by some process that has not recorded an outcome (as last seen)."""
    return event.status == Status.PENDING and event.attempts > 0


def in_flight(event: ReceivedEvent) -> bool:
    """Claimed by some process within ``PROCESSING_TIMEOUT`` and not finished (as last seen)."""
    return _unfinished_claim(event) and not needs_processing(event)


def needs_processing(event: ReceivedEvent) -> bool:
    """Whether a redelivery of ``event`` should run its receivers (as last seen): the
    claimable rule of :func:`claim`, evaluated on the instance."""
    return any(_holds(event, clause) for clause in _claimable_clauses(force=False))


def _seen(event: ReceivedEvent, db: str) -> QuerySet[ReceivedEvent]:
    """The row, if it is still as ``event`` last saw it (``attempts`` is its version)."""
    return ReceivedEvent.objects.using(db).filter(
        pk=event.pk, attempts=event.attempts, status=event.status
    )


def claim(event: ReceivedEvent, *, force: bool = False) -> bool:
    """Take ``event`` for processing; ``False`` when another process has it or it is done."""
    now = timezone.now()
    db = router.db_for_write(ReceivedEvent)
    takeover = _unfinished_claim(event)
    lost = (0 if force else event.lost_attempts) + takeover
    won = (
        _seen(event, db)
        .filter(_claimable(force=force))
        .update(
            attempts=F("attempts") + 1,
            status=Status.PENDING,
            last_attempt_at=now,
            lost_attempts=lost,
        )
    )
    if not won:
        return False
    if takeover:
        logger.warning(
            "Thinkific event %s: attempt %d stopped without an outcome (its process died or"
            " overran PROCESSING_TIMEOUT); taking it over",
            event.event_id,
            event.attempts,
        )
    event.attempts += 1
    event.status = Status.PENDING
    event.last_attempt_at = now
    event.lost_attempts = lost
    return True


def _give_up(event: ReceivedEvent) -> Outcome:
    """Fail an event whose attempts keep dying, rather than run it once more."""
    db = router.db_for_write(ReceivedEvent)
    lost = event.lost_attempts + 1
    note = (
        f"Given up after {lost} attempts whose process stopped before recording an outcome"
        " (killed, out of memory, crashed, or slower than PROCESSING_TIMEOUT). Not retried"
        " automatically: fix the cause, then process it again."
    )
    won = (
        _seen(event, db)
        .filter(_claimable(force=False))
        .update(status=Status.FAILED, lost_attempts=lost, last_error=note)
    )
    if not won:
        return Outcome.NOT_OURS
    logger.error("Thinkific event %s (%s): %s", event.event_id, event.topic, note)
    event.status, event.lost_attempts, event.last_error = Status.FAILED, lost, note
    return Outcome.FAILED


def _storable(text: str) -> str:
    """Error text every database can hold: NUL written as ``\\x00``, lone surrogates
    (an undecodable file name, a surrogate-escaped header) as ``\\udcff``."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def _format_failures(failures: list[tuple[Any, BaseException]]) -> str:
    parts = []
    for receiver, exc in failures:
        name = (
            f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', receiver)}"
        )
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        parts.append(f"Receiver {name} raised:\n{tb}")
    return "\n".join(parts)


def _signals(topic: str) -> list[Signal]:
    topic_signal = signal_for(topic)
    return [webhook_received] if topic_signal is None else [webhook_received, topic_signal]


def has_receivers(topic: str) -> bool:
    """Whether any receiver would run for an event of ``topic``."""
    return any(signal.has_listeners(ReceivedEvent) for signal in _signals(topic))


def _send(event: ReceivedEvent, db: str) -> list[tuple[Any, BaseException]]:
    """Send ``webhook_received`` then the topic's signal; every receiver runs.

    Each receiver runs in its own savepoint, so one that breaks the
    transaction (a database error on PostgreSQL) does not make the receivers
    after it fail too. A lone receiver needs no savepoint of its own: the
    surrounding transaction already isolates it, and nothing runs after it.
    """
    kwargs = {"event": event, "topic": event.topic, "payload": event.payload}
    calls = [
        (signal, receiver)
        for signal in _signals(event.topic)
        for receiver in live_receivers(signal, ReceivedEvent)
    ]
    failures: list[tuple[Any, BaseException]] = []
    for signal, receiver in calls:
        try:
            if len(calls) == 1:
                receiver(signal=signal, sender=ReceivedEvent, **kwargs)
            else:
                with transaction.atomic(using=db):
                    receiver(signal=signal, sender=ReceivedEvent, **kwargs)
        except PROCESS_EXITS:
            raise
        except BaseException as exc:  # CancelledError and other non-Exception errors too
            failures.append((receiver, exc))
    return failures


def run_claimed(event: ReceivedEvent) -> Outcome:
    """Run the receivers of an event this process has claimed; record the outcome.

    The receivers and the ``processed`` mark commit together, so a failure
    leaves no half-applied writes behind and processing again doubles nothing;
    if the claim was lost meanwhile (this process was so slow that another took
    the event over) everything is rolled back and ``NOT_OURS`` returned.
    Once that commit succeeded the event is processed, whatever the receivers'
    ``on_commit`` callbacks do afterwards. A database outage while recording
    the outcome propagates (the caller answers 503 / retries).
    """
    db = router.db_for_write(ReceivedEvent)
    connection = connections[db]
    outermost = not connection.in_atomic_block
    mine = ReceivedEvent.objects.using(db).filter(pk=event.pk, attempts=event.attempts)
    callbacks: list[Callable[[], Any]] = []
    try:
        with transaction.atomic(using=db):
            failures = _send(event, db)
            if failures:
                raise _ReceiversFailed(_format_failures(failures))
            now = timezone.now()
            if not mine.update(status=Status.PROCESSED, processed_at=now, last_error=""):
                raise _ClaimLost
            if outermost:
                callbacks = commit_hooks.take(connection)
    except _ClaimLost:
        return _lost(event, db)
    except _ReceiversFailed as exc:
        report = exc.report
    except PROCESS_EXITS:
        raise
    except BaseException as exc:  # a receiver broke the transaction itself
        report = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    else:
        event.status, event.processed_at, event.last_error = Status.PROCESSED, now, ""
        _run_callbacks(event, mine, callbacks)
        return Outcome.PROCESSED

    logger.error(
        "Thinkific event %s (%s) failed on attempt %d",
        event.event_id,
        event.topic,
        event.attempts,
    )
    report = _storable(report)
    if not mine.filter(status=Status.PENDING).update(status=Status.FAILED, last_error=report):
        return _lost(event, db)  # taken over meanwhile: the new owner records the outcome
    event.status, event.last_error = Status.FAILED, report
    return Outcome.FAILED


def _lost(event: ReceivedEvent, db: str) -> Outcome:
    if not ReceivedEvent.objects.using(db).filter(pk=event.pk).exists():
        return Outcome.GONE
    logger.warning(
        "Thinkific event %s was taken over by another process; this run was rolled back",
        event.event_id,
    )
    return Outcome.NOT_OURS


def _run_callbacks(
    event: ReceivedEvent, mine: QuerySet[ReceivedEvent], callbacks: list[Callable[[], Any]]
) -> None:
    """The receivers' ``on_commit`` callbacks, now that their writes are committed."""
    failures = commit_hooks.run(callbacks)
    if not failures:
        return
    note = (
        "Processed (the receivers' writes are committed and are not run again), but"
        f" {len(failures)} on-commit callback(s) raised afterwards:\n" + "\n".join(failures)
    )
    note = _storable(note)
    logger.error("Thinkific event %s (%s): %s", event.event_id, event.topic, note)
    try:
        mine.filter(status=Status.PROCESSED).update(last_error=note)
    except DatabaseError:
        logger.exception("Could not record the note on Thinkific event %s", event.event_id)
    else:
        event.last_error = note


def process(event: ReceivedEvent, *, force: bool = False) -> Outcome:
    """Claim and run ``event``, or give it up when its attempts keep dying."""
    if not force and _unfinished_claim(event) and event.lost_attempts + 1 >= MAX_LOST_ATTEMPTS:
        if needs_processing(event):  # the stale claim is the last one it gets
            return _give_up(event)
        return Outcome.NOT_OURS
    if not claim(event, force=force):
        return Outcome.NOT_OURS
    return run_claimed(event)


def run_each(events: Iterable[ReceivedEvent], *, force: bool) -> dict[Outcome, int]:
    """Process each event; one event's database error never stops the others."""
    counts = dict.fromkeys(Outcome, 0)
    for event in events:
        try:
            outcome = process(event, force=force)
        except DatabaseError:
            logger.exception("Could not process Thinkific event %s", event.event_id)
            outcome = Outcome.NOT_OURS
        counts[outcome] += 1
    return counts


@dataclass(frozen=True)
class ProcessAgainReport:
    processed: int = 0
    failed: int = 0
    skipped: int = 0
    gone: int = 0


def process_again(events: Iterable[ReceivedEvent]) -> ProcessAgainReport:
    """Run the signals again for chosen events (admin action, REST endpoint).

    Processed events are run again on purpose; an event another process is
    working on right now is skipped, never run twice at once; one deleted
    meanwhile (pruned) is reported as gone.
    """
    counts = run_each(events, force=True)
    return ProcessAgainReport(
        processed=counts[Outcome.PROCESSED],
        failed=counts[Outcome.FAILED],
        skipped=counts[Outcome.NOT_OURS],
        gone=counts[Outcome.GONE],
    )


def stale_pending(*, now: datetime | None = None) -> QuerySet[ReceivedEvent]:
    """Events left pending: never attempted for ``PROCESSING_TIMEOUT`` seconds
    (their task was lost, e.g. the broker was down), or claimed longer ago than
    that (their process died). The sweep (``services.dispatch``) finishes them."""
    stale = cutoff(now)
    return ReceivedEvent.objects.filter(
        Q(attempts=0, received_at__lt=stale) | Q(attempts__gt=0, last_attempt_at__lt=stale),
        status=Status.PENDING,
    )
