"""The claim, the Celery task and the recovery sweep, driven as their callers drive them;
without a broker (eager) a failing receiver runs once per delivery, not once per retry."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_thinkific import tasks
from django_thinkific.models import ReceivedEvent
from django_thinkific.services import processing
from django_thinkific.signals import order_created
from django_thinkific.testing import capture_events, post_event, sample_event
from tests.factories import ReceivedEventFactory

pytestmark = pytest.mark.django_db
LONG_AGO = timedelta(hours=1)


def test_a_stale_copy_cannot_claim(thinkific):
    """The compare-and-set is on the version seen, not only on the status."""
    event = ReceivedEventFactory(status="failed", attempts=1)
    first, stale = ReceivedEvent.objects.get(), ReceivedEvent.objects.get()
    assert processing.claim(first)
    ReceivedEvent.objects.filter(pk=event.pk).update(status="failed")  # first run failed
    assert not processing.claim(stale)  # saw attempts=1; the row is at 2
    assert ReceivedEvent.objects.get().attempts == 2


def test_task_processes_a_pending_event():
    event = ReceivedEventFactory(status="pending", attempts=0)
    with capture_events("order.created") as calls:
        assert tasks.process_event.apply(args=[event.pk]).get() == "processed"
    assert len(calls) == 1
    assert tasks.process_event.apply(args=[event.pk]).get() == "skipped"  # idempotent
    assert len(calls) == 1


def test_task_for_a_missing_event():
    assert tasks.process_event.apply(args=[123456]).get() == "missing"


def test_redelivered_task_does_not_run_a_claimed_event_but_takes_over_a_stale_one():
    event = ReceivedEventFactory(status="pending", attempts=1, last_attempt_at=timezone.now())
    with capture_events() as calls:
        # A worker died holding it; the broker redelivers the task. Still claimed:
        assert tasks.process_event.apply(args=[event.pk]).get() == "skipped"
        assert calls == []
        ReceivedEvent.objects.update(last_attempt_at=timezone.now() - LONG_AGO)
        assert tasks.process_event.apply(args=[event.pk]).get() == "processed"
    assert len(calls) == 1


def test_sweep_processes_what_was_left_pending():
    old = timezone.now() - LONG_AGO
    lost = ReceivedEventFactory(status="pending", attempts=0, received_at=old)
    dead = ReceivedEventFactory(status="pending", attempts=1, last_attempt_at=old)
    fresh = ReceivedEventFactory(status="pending", attempts=0)  # its task may still come
    running = ReceivedEventFactory(status="pending", attempts=1, last_attempt_at=timezone.now())
    done = ReceivedEventFactory(status="processed", attempts=1, received_at=old)
    out = io.StringIO()
    with capture_events() as calls:
        call_command("thinkific_recover_pending", stdout=out)
    assert out.getvalue() == "2 pending events found: 2 processed, 0 failed.\n"
    assert {c.event.pk for c in calls} == {lost.pk, dead.pk}
    statuses = dict(ReceivedEvent.objects.values_list("pk", "status"))
    assert statuses[fresh.pk] == statuses[running.pk] == "pending"
    assert statuses[done.pk] == "processed"


def test_sweep_requeues_with_celery_dispatch(thinkific):
    thinkific(DISPATCH="celery")
    lost = ReceivedEventFactory(status="pending", attempts=0, received_at=timezone.now() - LONG_AGO)
    assert tasks.recover_pending_events.apply().get() == 1
    lost.refresh_from_db()
    assert lost.status == "processed"  # the eager test broker ran the queued task


def test_sweep_command_limit_must_be_positive():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 1"):
        call_command("thinkific_recover_pending", "--limit", "0")


def test_sweep_command_limit_past_64_bits_is_one_line_not_a_database_error():
    """docs: ``thinkific_recover_pending [--limit N]``; a limit no database can take (SQLite:
    "datatype mismatch") is refused like ``thinkific_prune --batch-size``, and the service
    (the Celery task's path) takes any large limit as "all of them"."""
    from django.core.management.base import CommandError

    from django_thinkific.services.dispatch import recover_pending

    with pytest.raises(CommandError, match="--limit must be between 1 and 9223372036854775807"):
        call_command("thinkific_recover_pending", "--limit", str(10**23))
    lost = ReceivedEventFactory(status="pending", attempts=0, received_at=timezone.now() - LONG_AGO)
    assert recover_pending(limit=10**23).found == 1
    lost.refresh_from_db()
    assert lost.status == "processed"


# --- the task without a broker (eager): a failure is not retried inside the request -------


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_is_not_rerun_eight_times_inside_the_request(client, thinkific, connect):
    """README: the process_event task "retries a failure with exponential backoff
    (10 s doubling, capped at 10 minutes, 8 retries)"; example site: "CELERY_BROKER_URL
    ... empty runs tasks eagerly in the web process".

    Eagerly, Celery's retry ignores the countdown: the receiver runs 9 times back to
    back before the answer (9 x its duration: a 1 s receiver answers after 9 s, past
    Thinkific's 5 s), and the answer says "pending" for an event already failed."""
    thinkific(DISPATCH="celery")
    runs = []

    def fails(sender, event, **kwargs):
        runs.append(event.attempts)
        raise RuntimeError("the CRM is down")

    connect(order_created, fails)
    event = sample_event("order.created")
    response = post_event(client, event)
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert response.status_code == 200
    assert len(runs) == 1, f"ran {len(runs)} times in one request: attempts {runs}"
    assert stored.attempts == 1
    assert response.json()["status"] == stored.status
