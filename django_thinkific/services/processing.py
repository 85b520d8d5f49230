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
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.db import router, transaction
from django.db.models import F, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from ..conf import get_settings
from ..models import ReceivedEvent
from ..signals import signal_for, webhook_received

logger = logging.getLogger("django_thinkific.processing")

Status = ReceivedEvent.Status


class _ClaimLost(Exception):
    """Another process took the event over meanwhile: roll back, record nothing."""


class _ReceiversFailed(Exception):
    """Raised inside the receivers' transaction to roll back their writes."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report


def _claimable(*, force: bool) -> Q:
    cutoff = timezone.now() - timedelta(seconds=get_settings().processing_timeout)
    condition = (
        Q(status=Status.FAILED)
        | Q(status=Status.PENDING, attempts=0)
        | Q(status=Status.PENDING, last_attempt_at__lt=cutoff)
        | Q(status=Status.PENDING, last_attempt_at__isnull=True)
    )
    if force:
        condition |= Q(status=Status.PROCESSED)
    return condition


def in_flight(event: ReceivedEvent) -> bool:
    """Claimed by some process within ``PROCESSING_TIMEOUT`` and not finished (as last seen)."""
    return event.status == Status.PENDING and event.attempts > 0 and not needs_processing(event)


def needs_processing(event: ReceivedEvent) -> bool:
    """Whether a redelivery of ``event`` should run its receivers (as last seen)."""
    if event.status == Status.FAILED:
        return True
    if event.status != Status.PENDING:
        return False
    if event.attempts == 0 or event.last_attempt_at is None:
        return True
    cutoff = timezone.now() - timedelta(seconds=get_settings().processing_timeout)
    return event.last_attempt_at < cutoff


def claim(event: ReceivedEvent, *, force: bool = False) -> bool:
    """Take ``event`` for processing; ``False`` when another process has it or it is done."""
    now = timezone.now()
    db = router.db_for_write(ReceivedEvent)
    won = (
        ReceivedEvent.objects.using(db)
        .filter(_claimable(force=force), pk=event.pk, attempts=event.attempts)
        .update(attempts=F("attempts") + 1, status=Status.PENDING, last_attempt_at=now)
    )
    if won:
        event.attempts += 1
        event.status = Status.PENDING
        event.last_attempt_at = now
    return bool(won)


def _format_failures(failures: list[tuple[Any, BaseException]]) -> str:
    parts = []
    for receiver, exc in failures:
        name = (
            f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', receiver)}"
        )
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        parts.append(f"Receiver {name} raised:\n{tb}")
    return "\n".join(parts)


def _receivers(signal: Signal) -> list[Callable[..., Any]]:
    """The signal's live receivers for ``ReceivedEvent``, async ones made callable.

    ``Signal._live_receivers`` returns a list before Django 5.0 and a
    ``(sync, async)`` pair since; both are handled (tested on 4.2, 5.2, 6.x).
    """
    live = signal._live_receivers(ReceivedEvent)
    if isinstance(live, tuple):
        sync_receivers, async_receivers = live
        return [*sync_receivers, *(async_to_sync(r) for r in async_receivers)]
    return list(live)


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
    calls = [(signal, r) for signal in _signals(event.topic) for r in _receivers(signal)]
    failures: list[tuple[Any, BaseException]] = []
    for signal, receiver in calls:
        try:
            if len(calls) == 1:
                receiver(signal=signal, sender=ReceivedEvent, **kwargs)
            else:
                with transaction.atomic(using=db):
                    receiver(signal=signal, sender=ReceivedEvent, **kwargs)
        except Exception as exc:
            failures.append((receiver, exc))
    return failures


def run_claimed(event: ReceivedEvent) -> bool | None:
    """Run the receivers of an event this process has claimed; record the outcome.

    The receivers and the ``processed`` mark commit together, so a failure
    leaves no half-applied writes behind and processing again doubles nothing;
    if the claim was lost meanwhile (this process was so slow that another took
    the event over) everything is rolled back and ``None`` returned.
    Returns ``True`` when every receiver succeeded, ``False`` when one failed.
    A database outage while recording the outcome propagates (the caller
    answers 503 / retries).
    """
    db = router.db_for_write(ReceivedEvent)
    mine = ReceivedEvent.objects.using(db).filter(pk=event.pk, attempts=event.attempts)
    try:
        with transaction.atomic(using=db):
            failures = _send(event, db)
            if failures:
                raise _ReceiversFailed(_format_failures(failures))
            now = timezone.now()
            if not mine.update(status=Status.PROCESSED, processed_at=now, last_error=""):
                raise _ClaimLost
    except _ClaimLost:
        logger.warning(
            "Thinkific event %s was taken over by another process; this run was rolled back",
            event.event_id,
        )
        return None
    except _ReceiversFailed as exc:
        report = exc.report
    except Exception as exc:  # a receiver broke the transaction itself
        report = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    else:
        event.status, event.processed_at, event.last_error = Status.PROCESSED, now, ""
        return True

    logger.error(
        "Thinkific event %s (%s) failed on attempt %d",
        event.event_id,
        event.topic,
        event.attempts,
    )
    if not mine.update(status=Status.FAILED, last_error=report):
        return None  # taken over meanwhile: the new owner records the outcome
    event.status, event.last_error = Status.FAILED, report
    return False


def process(event: ReceivedEvent, *, force: bool = False) -> bool | None:
    """Claim and run ``event``: ``True`` processed, ``False`` failed, ``None`` not ours."""
    if not claim(event, force=force):
        return None
    return run_claimed(event)


@dataclass(frozen=True)
class ProcessAgainReport:
    processed: int = 0
    failed: int = 0
    skipped: int = 0


def process_again(events: Iterable[ReceivedEvent]) -> ProcessAgainReport:
    """Run the signals again for chosen events (admin action, REST endpoint).

    Processed events are run again on purpose; an event another process is
    working on right now is skipped, never run twice at once.
    """
    processed = failed = skipped = 0
    for event in events:
        outcome = process(event, force=True)
        if outcome is None:
            skipped += 1
        elif outcome:
            processed += 1
        else:
            failed += 1
    return ProcessAgainReport(processed=processed, failed=failed, skipped=skipped)


def stale_pending(*, now: datetime | None = None) -> QuerySet[ReceivedEvent]:
    """Events left pending: never attempted for ``PROCESSING_TIMEOUT`` seconds
    (their task was lost, e.g. the broker was down), or claimed longer ago than
    that (their process died)."""
    cutoff = (now or timezone.now()) - timedelta(seconds=get_settings().processing_timeout)
    return ReceivedEvent.objects.filter(
        Q(attempts=0, received_at__lt=cutoff) | Q(attempts__gt=0, last_attempt_at__lt=cutoff),
        status=Status.PENDING,
    )


@dataclass(frozen=True)
class RecoveryReport:
    found: int
    processed: int = 0
    failed: int = 0
    queued: int = 0


def recover_pending(*, limit: int = 1000) -> RecoveryReport:
    """Finish what was left pending (the sweep; run by a beat task or a command).

    With ``DISPATCH = "celery"`` the events are queued again; otherwise they
    are processed here. The claim keeps either safe to run at any time.
    """
    from .receiving import enqueue

    events = list(stale_pending().order_by("received_at")[:limit])
    if get_settings().dispatch == "celery":
        queued = sum(1 for event in events if enqueue(event.pk))
        return RecoveryReport(found=len(events), queued=queued)
    processed = failed = 0
    for event in events:
        outcome = process(event)
        processed += outcome is True
        failed += outcome is False
    return RecoveryReport(found=len(events), processed=processed, failed=failed)
