"""Celery tasks. Thin: each one calls the service layer.

Celery is an extra (``pip install 'django-thinkific[celery]'``): the app config
imports this module only where it is installed.
"""

from __future__ import annotations

import random
from typing import Any

try:
    from celery import shared_task
    from celery.exceptions import MaxRetriesExceededError
except ImportError as missing:  # pragma: no cover - tested in a venv without Celery
    raise ImportError(
        "django_thinkific.tasks needs Celery: pip install 'django-thinkific[celery]'"
    ) from missing

from .publishing import PROCESS_EVENT

#: Retry delays grow 10 s, 20 s, 40 s, ... and stop growing at this cap.
RETRY_BACKOFF_CAP = 600
MAX_RETRIES = 8


@shared_task(
    bind=True,
    name=PROCESS_EVENT,  # published by that name (services.dispatch)
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def process_event(self: Any, event_pk: int) -> str:
    """Run the receivers of one stored event (``DISPATCH = "celery"``).

    Idempotent: the claim in ``services.processing`` lets one run win; a
    duplicate task finds nothing to do. A task redelivered because its worker
    died finds the event still claimed, and checks again once that claim is
    older than ``PROCESSING_TIMEOUT`` (then it takes the event over).
    """
    from .conf import get_settings
    from .models import ReceivedEvent
    from .services import processing

    Outcome = processing.Outcome
    event = ReceivedEvent.objects.filter(pk=event_pk).first()
    if event is None:
        return "missing"  # pruned or deleted meanwhile
    outcome = processing.process(event)
    try:
        if outcome is Outcome.NOT_OURS:
            event.refresh_from_db()
            if processing.in_flight(event) and not self.request.is_eager:
                raise self.retry(countdown=get_settings().processing_timeout + 1)
            # Done by someone else, or failed and given up (its attempts kept dying).
            return "failed" if event.status == ReceivedEvent.Status.FAILED else "skipped"
        if outcome is Outcome.PROCESSED:
            return "processed"
        if outcome is Outcome.GONE:
            return "missing"
        if event.lost_attempts >= processing.MAX_LOST_ATTEMPTS:
            return "failed"  # given up: its attempts keep killing their process
        if self.request.is_eager:
            # No broker: a retry would run at once, inside the request that queued it
            # (Celery ignores the countdown eagerly). Failed stays failed: a redelivery,
            # "process again" or the sweep runs it again.
            return "failed"
        delay = min(RETRY_BACKOFF_CAP, 10 * 2**self.request.retries)
        raise self.retry(countdown=delay + random.uniform(0, delay / 4))  # noqa: S311
    except ReceivedEvent.DoesNotExist:
        return "missing"
    except MaxRetriesExceededError:
        return "failed" if outcome is Outcome.FAILED else "skipped"


@shared_task(name="django_thinkific.recover_pending_events", ignore_result=True)
def recover_pending_events(limit: int = 1000) -> int:
    """The sweep: finish events left pending (lost task, dead process). Returns how many."""
    from .services.dispatch import recover_pending

    return recover_pending(limit=limit).found


@shared_task(name="django_thinkific.prune_received_events", ignore_result=False)
def prune_received_events(days: int | None = None) -> int:
    """Delete events older than ``EVENT_RETENTION_DAYS``; returns how many. Run it daily."""
    from .services.retention import prune

    return prune(days=days).deleted
