"""Review 2: on a real Celery worker (Redis, prefork) with the example site under
gunicorn and PostgreSQL, a receiver error the database cannot store (a NUL)."""

from __future__ import annotations

import time

import pytest

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import sample_event

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_receiver_error_with_a_nul_ends_failed_with_its_traceback_on_a_worker(example_stack):
    """README: the task "retries a failure with exponential backoff ... and ends
    `processed` or `failed`"; a failed event keeps "its traceback". On a real worker
    the task dies with DataError, the message is acked, the event stays pending; the
    sweep's takeovers then count it as a process that died, and it ends "Given up
    after 3 attempts whose process stopped" with the receiver's traceback lost."""
    example_stack.env.update(
        DJANGO_SETTINGS_MODULE="tests.fault_site",
        THINKIFIC_PROCESSING_TIMEOUT="2",
        FAULT_RECEIVERS="order.created=nul",
    )
    example_stack.start_web()
    worker = example_stack.start_worker(concurrency=1)
    event = sample_event("order.created")
    assert example_stack.deliver(event).status_code == 200
    deadline = time.monotonic() + 20
    stored = None
    while time.monotonic() < deadline:
        stored = ReceivedEvent.objects.filter(event_id=event["id"]).first()
        if stored is not None and stored.attempts >= 1 and stored.status != "pending":
            break
        time.sleep(0.5)
    # the operator's beat sweep runs meanwhile (three times, as every 5 minutes)
    for _ in range(3):
        time.sleep(2.5)
        example_stack.manage("thinkific_recover_pending")
    time.sleep(3)
    stored.refresh_from_db()
    assert stored.status == "failed", (stored.status, stored.attempts, worker.log_text()[-1500:])
    assert "CRM refused the order" in stored.last_error, stored.last_error


def test_a_failing_receiver_is_retried_with_backoff_on_a_worker(example_stack):
    """README: the task "retries a failure with exponential backoff (10 s doubling ...)"."""
    example_stack.env.update(
        DJANGO_SETTINGS_MODULE="tests.fault_site", FAULT_RECEIVERS="order.created=fail"
    )
    example_stack.start_web()
    worker = example_stack.start_worker(concurrency=1)
    event = sample_event("order.created")
    started = time.monotonic()
    assert example_stack.deliver(event).status_code == 200
    deadline = started + 40
    stored = None
    while time.monotonic() < deadline:
        stored = ReceivedEvent.objects.filter(event_id=event["id"]).first()
        if stored is not None and stored.attempts >= 2:
            break
        time.sleep(0.5)
    took = time.monotonic() - started
    assert stored is not None
    assert stored.attempts == 2, worker.log_text()[-1500:]
    assert stored.status in ("failed", "pending")  # failed again, or running attempt 2
    assert took >= 10  # the first retry waited its backoff (10 s to 12.5 s)
    assert "Retry in 1" in worker.log_text()
    assert "plain failure" in stored.last_error or stored.status == "pending"
