"""DISPATCH = "celery" with a real broker: Redis, a Celery worker, the example site (gunicorn).

Events survive a stopped worker, a broker that never answers does not hold gunicorn, and
a receiver error is retried with backoff and ends ``failed`` with its traceback, even one
whose text the database cannot store."""

from __future__ import annotations

import time

import pytest
import requests
from celery import Celery
from django.utils import timezone

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import sample_event
from tests.factories import ReceivedEventFactory
from tests.helpers import wait_until_processed
from tests.stack import listener

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def statuses(ids):
    return dict(ReceivedEvent.objects.filter(event_id__in=ids).values_list("event_id", "status"))


def test_worker_processes_events_and_pending_ones_survive_a_stopped_worker(example_stack):
    example_stack.start_web()
    worker = example_stack.start_worker()

    first = [sample_event(t) for t in ("order.created", "enrollment.completed") * 5]
    assert [example_stack.deliver(e).status_code for e in first] == [200] * 10
    wait_until_processed([e["id"] for e in first])
    assert "completed '[TEST] lorem ipsum'" in worker.log_text()  # the example receiver ran there

    worker.stop()  # warm shutdown; the broker keeps what arrives meanwhile
    second = [sample_event("order.created") for _ in range(5)]
    answers = [example_stack.deliver(e) for e in second]
    assert [a.status_code for a in answers] == [200] * 5
    assert {a.json()["status"] for a in answers} == {"pending"}
    time.sleep(1)
    assert set(statuses([e["id"] for e in second]).values()) == {"pending"}

    example_stack.start_worker()
    wait_until_processed([e["id"] for e in second])
    for event in ReceivedEvent.objects.filter(event_id__in=[e["id"] for e in first + second]):
        assert event.attempts == 1  # each ran exactly once


def test_prune_task_through_the_broker(example_stack, redis_url):
    example_stack.start_worker()
    old = timezone.now() - timezone.timedelta(days=40)
    ReceivedEventFactory.create_batch(12, received_at=old)
    ReceivedEventFactory.create_batch(3)
    client = Celery("test-client", broker=redis_url, backend=redis_url, set_as_current=False)
    try:
        result = client.send_task("django_thinkific.prune_received_events")
        assert result.get(timeout=60) == 12
    finally:
        client.close()
    assert ReceivedEvent.objects.count() == 3


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_a_broker_that_never_answers_does_not_hold_gunicorn(example_stack, redis_url, scheme):
    """The site's broker URL points at a listener that accepts and never replies.

    Before the fix each delivery waited until gunicorn killed its worker. Now each
    is answered 200 ``pending`` well inside Thinkific's 5 s, Thinkific's retries
    too; the sweep queues the events once the real broker is back.
    """
    with listener("silent") as port:
        silent = (
            f"redis://127.0.0.1:{port}/0" if scheme == "redis" else f"amqp://127.0.0.1:{port}//"
        )
        # One worker: before the fix the first delivery held it until gunicorn killed it.
        example_stack.start_web(
            workers=1, timeout=10, env={"CELERY_BROKER_URL": silent, "CELERY_RESULT_BACKEND": ""}
        )
        # Django's first request loads the URLconf and the rest: not the broker's doing.
        assert requests.get(f"{example_stack.url}/thinkific/webhooks/", timeout=30).status_code
        events = [sample_event("order.created") for _ in range(4)]
        times = []
        for event in [*events, events[0]]:  # the last one: Thinkific's retry
            began = time.monotonic()
            answer = example_stack.deliver(event)
            times.append(round(time.monotonic() - began, 2))
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == "pending"
        assert max(times) < 3, f"answered after {times} s"
    ids = [e["id"] for e in events]
    assert set(statuses(ids).values()) == {"pending"}

    worker = example_stack.start_worker()  # the real broker (the stack's redis)
    time.sleep(1.5)  # older than THINKIFIC_PROCESSING_TIMEOUT=1 below
    result = example_stack.manage(
        "thinkific_recover_pending", env={"THINKIFIC_PROCESSING_TIMEOUT": "1"}
    )
    assert result.returncode == 0, result.stderr
    assert "4 pending events found, 4 queued again." in result.stdout
    wait_until_processed(ids)
    assert worker.running()


# --- a real worker and a receiver error the database cannot store -------------------------


@pytest.mark.django_db(transaction=True)
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


@pytest.mark.django_db(transaction=True)
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
