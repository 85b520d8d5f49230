"""Celery tasks. Thin: each one calls the service layer."""

from __future__ import annotations

import random
from typing import Any

from celery import shared_task
from celery.exceptions import MaxRetriesExceededError

#: Retry delays grow 10 s, 20 s, 40 s, ... and stop growing at this cap.
RETRY_BACKOFF_CAP = 600
MAX_RETRIES = 8


@shared_task(
    bind=True,
    name="django_thinkific.process_event",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    ignore_result=True,
)
def process_event(self: Any, event_pk: int) -> str:
    """Run the receivers of one stored event (``DISPATCH = "celery"``).

    Idempotent: the claim in ``services.processing`` lets one run win; a
    duplicate task, or a redelivery after ``acks_late``, finds nothing to do.
    """
    from .models import ReceivedEvent
    from .services import processing

    event = ReceivedEvent.objects.filter(pk=event_pk).first()
    if event is None:
        return "missing"  # pruned or deleted meanwhile
    outcome = processing.process(event)
    if outcome is None:
        return "skipped"
    if outcome:
        return "processed"
    delay = min(RETRY_BACKOFF_CAP, 10 * 2**self.request.retries)
    try:
        raise self.retry(countdown=delay + random.uniform(0, delay / 4))  # noqa: S311
    except MaxRetriesExceededError:
        return "failed"
