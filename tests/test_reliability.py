"""Once committed, an event is processed: what runs after the commit, or escapes
the usual ``Exception``, never re-runs committed work (issue 10, items 1, 7, 8)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from django_thinkific import tasks
from django_thinkific.models import ReceivedEvent
from django_thinkific.services import dispatch, processing
from django_thinkific.signals import order_created, webhook_received
from django_thinkific.testing import post_event, sample_event
from tests.factories import ReceivedEventFactory

Status = ReceivedEvent.Status


def mail_server_down() -> None:
    raise ConnectionRefusedError("[Errno 111] mail server down")


def grant_and_mail(sender, event, **kwargs):
    """A site's receiver: one row of its own, then a mail once that row is committed."""
    Group.objects.create(name=f"granted {event.event_id} {Group.objects.count()}")
    transaction.on_commit(mail_server_down)


@pytest.mark.django_db(transaction=True)
def test_failing_on_commit_callback_leaves_the_event_processed(client, connect, caplog):
    connect(order_created, grant_and_mail)
    event = sample_event("order.created")
    with caplog.at_level(logging.ERROR, logger="django_thinkific.processing"):
        response = post_event(client, event)
    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    stored = ReceivedEvent.objects.get()
    assert stored.status == Status.PROCESSED
    assert Group.objects.count() == 1
    # The operator is told, with the event id and the traceback.
    assert event["id"] in caplog.text
    assert "mail server down" in caplog.text
    assert "mail server down" in stored.last_error  # a note; the status says processed

    # A redelivery, the sweep and a Celery task find nothing to do.
    assert post_event(client, event).json() == {
        "id": event["id"],
        "status": "processed",
        "duplicate": True,
    }
    assert dispatch.recover_pending().found == 0
    assert tasks.process_event.apply(args=[stored.pk]).result == "skipped"
    assert Group.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_every_on_commit_callback_runs_even_when_one_fails(client, connect):
    sent = []

    def first(sender, event, **kwargs):
        transaction.on_commit(mail_server_down)

    def second(sender, event, **kwargs):
        transaction.on_commit(lambda: sent.append(event.event_id))

    connect(webhook_received, first)
    connect(order_created, second)
    event = sample_event("order.created")
    assert post_event(client, event).status_code == 200
    assert sent == [event["id"]]
    assert ReceivedEvent.objects.get().status == Status.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_failing_on_commit_callback_under_celery_is_not_retried(client, connect, thinkific):
    thinkific(DISPATCH="celery")  # the test app runs the queued task eagerly, with retries
    connect(order_created, grant_and_mail)
    assert post_event(client, "order.created").status_code == 200
    assert ReceivedEvent.objects.get().status == Status.PROCESSED
    assert Group.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_failing_on_commit_callback_in_process_again(admin_client, connect):
    connect(order_created, grant_and_mail)
    event = ReceivedEventFactory(status=Status.FAILED, attempts=1)
    report = processing.process_again([event])
    assert (report.processed, report.failed) == (1, 0)
    event.refresh_from_db()
    assert event.status == Status.PROCESSED
    assert Group.objects.count() == 1


class Stop(BaseException):
    """Not an ``Exception``: what a cancelled await or a custom signal raises."""


def cancelled(sender, event, **kwargs):
    raise asyncio.CancelledError


async def async_cancelled(sender, event, **kwargs):
    task = asyncio.ensure_future(asyncio.sleep(10))
    task.cancel()
    await task


def custom_base_exception(sender, event, **kwargs):
    raise Stop("receiver stopped")


@pytest.mark.parametrize(
    "receiver",
    [cancelled, async_cancelled, custom_base_exception],
    ids=["CancelledError", "async-cancelled", "BaseException"],
)
@pytest.mark.django_db(transaction=True)
def test_base_exception_from_a_receiver_is_recorded_as_failed(client, connect, receiver):
    connect(order_created, receiver)
    response = post_event(client, "order.created")
    assert response.status_code == 200
    assert response.json()["status"] == "failed"
    stored = ReceivedEvent.objects.get()
    assert stored.status == Status.FAILED
    assert "Error" in stored.last_error or "Stop" in stored.last_error
    assert "Traceback" in stored.last_error


@pytest.mark.django_db(transaction=True)
def test_base_exception_does_not_stop_the_sweep_or_process_again(connect):
    old = timezone.now() - timedelta(hours=1)
    first = ReceivedEventFactory(status=Status.PENDING, attempts=0, received_at=old)
    second = ReceivedEventFactory(
        status=Status.PENDING, attempts=0, received_at=old + timedelta(seconds=1)
    )
    seen = []

    def receiver(sender, event, **kwargs):
        seen.append(event.pk)
        if event.pk == first.pk:
            raise asyncio.CancelledError

    connect(webhook_received, receiver)
    report = dispatch.recover_pending()
    assert (report.found, report.processed, report.failed) == (2, 1, 1)
    assert seen == [first.pk, second.pk]
    again = processing.process_again(ReceivedEvent.objects.order_by("pk"))
    assert (again.processed, again.failed) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_keyboard_interrupt_from_a_receiver_is_not_swallowed(client, connect):
    """The process is being stopped: roll back and let it stop; the claim expires."""

    def interrupted(sender, event, **kwargs):
        Group.objects.create(name="half-done")
        raise KeyboardInterrupt

    connect(order_created, interrupted)
    with pytest.raises(KeyboardInterrupt):
        post_event(client, "order.created")
    assert Group.objects.count() == 0
    stored = ReceivedEvent.objects.get()
    assert (stored.status, stored.attempts) == (Status.PENDING, 1)


# ------------------------------------------------- attempts whose process died (item 7)


def died(event):
    """What a process that died holding the claim leaves behind: pending, claimed long ago."""
    ReceivedEvent.objects.filter(pk=event.pk).update(
        last_attempt_at=timezone.now() - timedelta(hours=1)
    )


@pytest.mark.django_db(transaction=True)
def test_an_event_whose_process_keeps_dying_is_failed_and_left_alone(client, connect):
    ran = []
    connect(order_created, lambda sender, event, **kw: ran.append(event.pk))
    event = ReceivedEventFactory(status=Status.PENDING, attempts=1)  # attempt 1 died
    for attempt in (2, 3):
        died(event)
        assert dispatch.recover_pending().found == 1  # taken over: attempt 2, then 3
        stored = ReceivedEvent.objects.get()
        assert (stored.attempts, stored.lost_attempts) == (attempt, attempt - 1)
        # ... and each of those died too: left pending, claimed.
        ReceivedEvent.objects.update(status=Status.PENDING)
    died(event)
    report = dispatch.recover_pending()
    assert (report.found, report.processed, report.failed) == (1, 0, 1)
    stored = ReceivedEvent.objects.get()
    assert stored.status == Status.FAILED
    assert stored.lost_attempts == 3
    assert "Given up after 3 attempts whose process stopped" in stored.last_error
    # Left alone: the sweep, a redelivery and a queued task run nothing.
    assert dispatch.recover_pending().found == 0
    assert tasks.process_event.apply(args=[stored.pk]).result == "failed"
    assert ran == [event.pk, event.pk]  # attempts 2 and 3 ran (and "died"); nothing since
    # An operator's "process again" runs it.
    assert processing.process_again([stored]).processed == 1
    assert ReceivedEvent.objects.get().status == Status.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_a_redelivery_does_not_run_an_event_given_up(client, connect):
    ran = []
    connect(order_created, lambda sender, event, **kw: ran.append(event.pk))
    event = sample_event("order.created")
    ReceivedEventFactory(
        event_id=event["id"],
        status=Status.PENDING,
        attempts=3,
        lost_attempts=2,
        last_attempt_at=timezone.now() - timedelta(hours=1),
    )
    first = post_event(client, event)
    assert first.json()["status"] == "failed"
    again = post_event(client, event)
    assert (again.status_code, again.json()["status"]) == (200, "failed")
    assert ran == []


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_kills_the_worker_ends_failed_on_a_real_worker(example_stack):
    """os._exit stands in for a segfault or an OOM kill of the worker's child process."""
    import time

    env = {"SHOP_CRASH_TOPIC": "order.created", "THINKIFIC_PROCESSING_TIMEOUT": "2"}
    example_stack.env.update(env)
    example_stack.start_web()
    worker = example_stack.start_worker(concurrency=1)
    event = sample_event("order.created")
    response = example_stack.deliver(event, timeout=10)
    assert response.status_code == 200
    deadline = time.monotonic() + 120
    stored = None
    while time.monotonic() < deadline:
        stored = ReceivedEvent.objects.filter(event_id=event["id"]).first()
        if stored is not None and stored.status == Status.FAILED:
            break
        time.sleep(0.5)
    assert stored is not None
    assert stored.status == Status.FAILED, (
        stored.status,
        stored.attempts,
        worker.log_text()[-3000:],
    )
    assert stored.lost_attempts == 3
    assert stored.attempts == 3
    assert "Given up after 3 attempts" in stored.last_error
    import re

    crashed = set(re.findall(r"crashing receiver: ending pid (\d+)", worker.log_text()))
    assert len(crashed) == 3  # three child processes died, then it was given up
    time.sleep(5)  # nothing runs it again
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == (Status.FAILED, 3)
    result = example_stack.manage("thinkific_recover_pending")
    assert result.stdout.strip() == "0 pending events found: 0 processed, 0 failed."
