"""DISPATCH = "celery" with a broker that misbehaves: the answer never waits for it.

Real listeners on 127.0.0.1 stand in for the broker: one accepts and never
answers, one accepts and sends garbage, one refuses. The site's Celery app
(here the test app) points at it with a ``redis://`` or an ``amqp://`` URL, and
deliveries go through the webhook view. Each answer is timed: it must come well
inside Thinkific's 5 s, with the event stored ``pending``; the sweep queues it
once a real broker is back.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu import Connection

from django_thinkific import publishing, tasks
from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import post_event, sample_event
from tests.celery_app import app
from tests.stack import listener

pytestmark = pytest.mark.django_db(transaction=True)

#: The promise: publishing gives up within 1.5 s, well inside Thinkific's 5 s; the rest is
#: headroom for a loaded machine (a hung broker used to hold the answer for good, AMQP 4 s+).
ANSWER_WITHIN = 3.0
#: Before the fix a silent redis broker blocked for good: the test fails here instead.
WATCHDOG = 15


def broker_url(scheme: str, port: int, db: int = 0) -> str:
    return f"redis://127.0.0.1:{port}/{db}" if scheme == "redis" else f"amqp://127.0.0.1:{port}//"


@pytest.fixture
def site_broker(thinkific):
    """Point the site's Celery app at a broker URL, as a site with a real broker does."""
    thinkific(DISPATCH="celery")
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.task_always_eager = False

    def use(url: str) -> None:
        app.conf.broker_url = url

    yield use
    app.conf.update(saved)


@contextlib.contextmanager
def watchdog(seconds: float = WATCHDOG) -> Iterator[None]:
    """Fail (instead of hanging the suite) if the block blocks longer than ``seconds``."""

    def expire(signum, frame):
        raise AssertionError(f"no answer after {seconds:g} s: the publish is not bounded")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def timed_delivery(client, event: dict) -> tuple[object, float]:
    began = time.monotonic()
    with watchdog():
        response = post_event(client, event)
    return response, time.monotonic() - began


def publisher_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("thinkific-publish")}


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
@pytest.mark.parametrize("behaviour", ["silent", "garbage", "refuses"])
def test_a_broker_that_does_not_answer_never_holds_the_delivery(
    client, site_broker, scheme, behaviour, caplog
):
    event = sample_event("order.created")
    earlier = publisher_threads()  # an earlier test's, ending on their own
    with listener(behaviour) as port:
        site_broker(broker_url(scheme, port))
        for _ in range(3):  # the first delivery and two of Thinkific's retries
            response, took = timed_delivery(client, event)
            assert response.status_code == 200, response.content
            assert response.json()["status"] == "pending"
            assert took < ANSWER_WITHIN, f"answered after {took:.2f} s"
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert (stored.status, stored.attempts) == ("pending", 0)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        f"Could not queue Thinkific event pk={stored.pk}; it stays pending" in warnings[0].message
    )
    assert len(publisher_threads() - earlier) <= publishing.MAX_PUBLISHERS


@pytest.mark.redis
@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_the_sweep_queues_the_event_once_a_real_broker_is_back(
    client, site_broker, scheme, redis_url
):
    event = sample_event("enrollment.completed")
    with listener("silent") as port:
        site_broker(broker_url(scheme, port))
        response, took = timed_delivery(client, event)
    assert (response.status_code, response.json()["status"], took < ANSWER_WITHIN) == (
        200,
        "pending",
        True,
    )
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert stored.status == "pending"

    real = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own: no worker consumes it
    site_broker(real)
    ReceivedEvent.objects.update(received_at=timezone.now() - timedelta(hours=1))
    with watchdog():
        assert tasks.recover_pending_events.apply(throw=True).result == 1  # the beat task, run here
    with Connection(real) as conn:
        queue = conn.SimpleQueue("celery")
        try:
            message = queue.get(timeout=5)
            message.ack()
        finally:
            queue.close()
    assert message.headers["task"] == "django_thinkific.process_event"
    assert message.decode()[0] == [stored.pk]
    stored.refresh_from_db()
    assert stored.status == "pending"  # queued, not run: the worker runs it
    assert tasks.process_event.apply((stored.pk,), throw=True).result == "processed"


def test_a_publish_step_no_socket_timeout_reaches_is_cut_off_and_threads_stay_bounded(
    client, site_broker, caplog, connect
):
    """A ``before_task_publish`` receiver that hangs stands in for a DNS lookup or a
    transport that waits with no timeout: the deadline holds, and hung publishes
    never take more than ``MAX_PUBLISHERS`` threads (later ones give up at once)."""
    from celery.signals import before_task_publish

    release = threading.Event()

    def hang(**kwargs):
        release.wait(30)

    earlier = publisher_threads()
    connect(before_task_publish, hang)
    try:
        with listener("refuses") as port:
            site_broker(broker_url("redis", port))
            times = []
            for _ in range(publishing.MAX_PUBLISHERS + 2):
                response, took = timed_delivery(client, sample_event("order.created"))
                assert response.status_code == 200
                assert response.json()["status"] == "pending"
                times.append(took)
            assert max(times) < ANSWER_WITHIN, times
            # At once: no thread is free to wait on (the deadline would be 1.5 s).
            assert min(times[publishing.MAX_PUBLISHERS :]) < 1.0, times
            assert len(publisher_threads() - earlier) == publishing.MAX_PUBLISHERS
            assert "earlier publishes are still waiting for the broker" in caplog.text

            release.set()  # the hung publishes go on, meet the refusing port and end
            for _ in range(20):  # their threads come back: a publish reaches the broker again
                caplog.clear()
                response, took = timed_delivery(client, sample_event("order.created"))
                assert (response.status_code, took < ANSWER_WITHIN) == (200, True)
                if "Connection refused" in caplog.text:
                    break
                time.sleep(0.1)
            assert "Connection refused" in caplog.text
    finally:
        release.set()
    assert ReceivedEvent.objects.exclude(status="pending").count() == 0


@pytest.mark.redis
def test_publishes_keep_the_sites_transport_options_and_leave_its_settings_alone(
    client, site_broker, redis_url
):
    """The bounded connections are the site's own broker settings plus timeouts:
    a ``global_keyprefix`` the site set still decides where the message lands."""
    import redis

    real = redis_url.rsplit("/", 1)[0] + "/8"
    site_broker(real)
    site_options = {"global_keyprefix": "site-prefix:", "socket_timeout": 0.2}
    saved = app.conf.broker_transport_options
    app.conf.broker_transport_options = site_options
    try:
        response, took = timed_delivery(client, sample_event("order.created"))
        assert response.status_code == 200
        assert took < ANSWER_WITHIN
        assert app.conf.broker_transport_options == site_options  # untouched
        assert app.conf.broker_connection_timeout == 4  # Celery's default, untouched
    finally:
        app.conf.broker_transport_options = saved
    server = redis.Redis.from_url(real)
    try:
        assert server.llen("site-prefix:celery") == 1
        assert server.llen("celery") == 0
        server.flushdb()
    finally:
        server.close()
    stored = ReceivedEvent.objects.get()
    assert stored.status == "pending"  # queued for a worker; none consumes this database


def test_a_sweep_against_a_hung_broker_stops_at_the_first_refusal(site_broker, caplog):
    """One failed publish ends the sweep's queueing: 50 pending events cost one timeout, not 50."""
    from django_thinkific.services.dispatch import recover_pending
    from tests.factories import ReceivedEventFactory

    old = timezone.now() - timedelta(hours=1)
    ReceivedEventFactory.create_batch(50, status="pending", attempts=0, received_at=old)
    with listener("silent") as port:
        site_broker(broker_url("redis", port))
        started = time.monotonic()
        with watchdog():
            report = recover_pending()
        took = time.monotonic() - started
    assert (report.found, report.queued) == (50, 0)
    assert took < ANSWER_WITHIN
    assert set(ReceivedEvent.objects.values_list("status", flat=True)) == {"pending"}
