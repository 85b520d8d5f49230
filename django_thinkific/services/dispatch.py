"""Run now or queue: what happens to a stored event, and the sweep for those left pending.

``DISPATCH = "sync"`` runs the receivers in the process that stored the event,
before the answer; ``"celery"`` queues the task ``django_thinkific.process_event``
once the event is committed, by name (:mod:`django_thinkific.publishing`), so
no service imports the tasks. :func:`recover_pending` finishes what a lost task
or a dead process left pending, the same two ways. The claim itself (who runs
an event, and what the run recorded) is :mod:`.processing`'s.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import router, transaction

from ..conf import get_settings, maximum
from ..errors import InFlight
from ..models import ReceivedEvent
from ..publishing import PROCESS_EVENT, publish
from . import processing
from .processing import Outcome

if TYPE_CHECKING:
    from .receiving import Receipt

logger = logging.getLogger("django_thinkific.receiving")  # the name it has always logged under

#: Publishing to the broker: two quick retries, then give up (the event stays
#: pending and the recovery sweep queues it again).
ENQUEUE_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.2,
}

#: Outcomes after which the delivery cannot be answered 200 by this process:
#: another one answers for the event (503, Thinkific retries), or the event
#: was deleted under it (the retry finds its tombstone, or stores it anew).
_RETRY_OUTCOMES = (Outcome.NOT_OURS, Outcome.GONE)


def runs_here() -> bool:
    """``True`` unless ``DISPATCH = "celery"``: the receivers run in this process."""
    return not get_settings().uses_celery


def dispatch(receipt: Receipt, *, sync: bool) -> None:
    """Run the stored event's receivers now (``sync``), or queue them once it is committed.

    Raises :class:`~django_thinkific.errors.InFlight` when another process
    answers for the event.
    """
    event = receipt.event
    if event is None:
        return  # a pruned event's replay: nothing to run
    if sync:
        if receipt.created:
            # Born claimed by store() (or born processed: nothing to run). Not
            # ours only if another process took the claim over before the outcome
            # was recorded: that process answers for the event, so this delivery
            # gets 503 (Thinkific retries) rather than a 200 no commit backs.
            pending = event.status == ReceivedEvent.Status.PENDING
            if pending and processing.run_claimed(event) in _RETRY_OUTCOMES:
                raise InFlight(event.event_id)
        elif processing.needs_processing(event):
            if processing.process(event) in _RETRY_OUTCOMES:
                raise InFlight(event.event_id)  # a racing retry claimed it first
        elif processing.in_flight(event):
            raise InFlight(event.event_id)
        return
    if receipt.created or processing.needs_processing(event):
        db = router.db_for_write(ReceivedEvent)
        transaction.on_commit(lambda: _enqueue_event(event), using=db)


def _enqueue_event(event: ReceivedEvent) -> None:
    """Queue the event's task; where it ran right here (no broker: eager), the answer
    reports the outcome it recorded rather than the ``pending`` it was stored as."""
    if _publish(event.pk) is _Published.RAN_HERE:
        event.refresh_from_db(
            fields=["status", "attempts", "last_attempt_at", "processed_at", "last_error"]
        )


class _Published(enum.Enum):
    QUEUED = "queued"
    RAN_HERE = "ran here"
    FAILED = "failed"


def enqueue(pk: int) -> bool:
    """Queue ``process_event`` for an event; a broker outage leaves it pending.

    The event is already committed, so nothing is lost: a redelivery or
    a later sweep enqueues it again. ``False`` when it could not be queued.
    """
    return _publish(pk) is not _Published.FAILED


def _publish(pk: int) -> _Published:
    try:
        # Bounded: a delivery must be answered well within Thinkific's 5 s.
        ran_here = publish(PROCESS_EVENT, (pk,), retry=True, retry_policy=ENQUEUE_RETRY_POLICY)
    except Exception:  # any broker/transport error: keep answering 200
        logger.warning("Could not queue Thinkific event pk=%s; it stays pending", pk, exc_info=True)
        return _Published.FAILED
    return _Published.RAN_HERE if ran_here else _Published.QUEUED


@dataclass(frozen=True)
class RecoveryReport:
    found: int
    processed: int = 0
    failed: int = 0
    queued: int = 0


def recover_pending(*, limit: int = 1000) -> RecoveryReport:
    """Finish what was left pending (the sweep; run by a beat task or a command).

    With ``DISPATCH = "celery"`` the events are queued again; otherwise they
    are processed here. The claim keeps either safe to run at any time, and
    one event's failure, whatever it raised, never stops the others.
    """
    # More than a 64-bit LIMIT is "all of them", which no database refuses.
    events = list(processing.stale_pending().order_by("received_at")[: min(limit, maximum("rows"))])
    if not runs_here():
        queued = 0
        for event in events:
            if not enqueue(event.pk):
                break  # the broker is down or hung: the rest wait for the next sweep
            queued += 1
        return RecoveryReport(found=len(events), queued=queued)
    counts = processing.run_each(events, force=False)
    return RecoveryReport(
        found=len(events), processed=counts[Outcome.PROCESSED], failed=counts[Outcome.FAILED]
    )
