"""Real concurrency on PostgreSQL: racing deliveries store one row and run the signals once."""

import json
import threading

import pytest
from django.db import connections
from django.test import Client

from django_thinkific.models import ReceivedEvent
from django_thinkific.signals import webhook_received
from django_thinkific.testing import sample_event, sign
from tests.settings import API_KEY

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def deliver_concurrently(body: bytes, n: int) -> list[int]:
    """POST ``body`` from ``n`` threads released at the same instant; return the statuses."""
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    lock = threading.Lock()

    def one():
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = client.post(
                "/thinkific/webhooks/",
                data=body,
                content_type="application/json",
                HTTP_X_THINKIFIC_HMAC_SHA256=sign(body, API_KEY),
            )
            with lock:
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


@pytest.fixture
def counted_signal(connect):
    calls = []
    lock = threading.Lock()

    def count(sender, event, **kwargs):
        with lock:
            calls.append(event.event_id)

    connect(webhook_received, count)
    return calls


def test_twenty_threads_same_new_event_one_row_one_signal(counted_signal):
    event = sample_event("order.created")
    body = json.dumps(event).encode()
    statuses = deliver_concurrently(body, 20)
    # 200 once the event is processed; 503 ("being processed, retry") while it runs
    assert len(statuses) == 20
    assert set(statuses) <= {200, 503}
    assert statuses.count(200) >= 1
    assert ReceivedEvent.objects.filter(event_id=event["id"]).count() == 1
    assert counted_signal == [event["id"]]
    stored = ReceivedEvent.objects.get()
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert deliver_concurrently(body, 1) == [200]  # Thinkific's retry of a 503
    assert counted_signal == [event["id"]]


def test_twenty_threads_same_event_celery_dispatch_one_signal(counted_signal, thinkific):
    """Every duplicate may enqueue the task; the claim lets exactly one run."""
    thinkific(DISPATCH="celery")
    event = sample_event("enrollment.completed")
    statuses = deliver_concurrently(json.dumps(event).encode(), 20)
    assert statuses == [200] * 20
    assert ReceivedEvent.objects.count() == 1
    assert counted_signal == [event["id"]]


def test_racing_retries_of_a_failed_event_run_it_once(counted_signal, connect):
    event = sample_event("order.created")
    failing = True

    def fail_first(sender, **kwargs):
        if failing:
            raise RuntimeError("down")

    connect(webhook_received, fail_first)
    statuses = deliver_concurrently(json.dumps(event).encode(), 1)
    assert ReceivedEvent.objects.get().status == "failed"
    failing = False
    counted_signal.clear()
    statuses = deliver_concurrently(json.dumps(event).encode(), 20)
    assert set(statuses) <= {200, 503}
    assert counted_signal == [event["id"]]
    stored = ReceivedEvent.objects.get()
    assert (stored.status, stored.attempts) == ("processed", 2)


def test_two_syncs_at_once_end_with_the_right_rows(thinkific):
    from django_thinkific.models import Subscription
    from django_thinkific.services import subscriptions
    from django_thinkific.testing.fake_api import FakeThinkificAPI

    fake = FakeThinkificAPI(api_key="test-api-key")
    for i in range(300):
        fake.add_webhook("order.created", f"https://shop{i}.acme.io/h")
    errors = []
    with fake.serve() as url:
        thinkific(API_BASE_URL=url)
        subscriptions._client_for.cache_clear()
        barrier = threading.Barrier(2)

        def run():
            try:
                barrier.wait(timeout=30)
                subscriptions.sync(page_size=50)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    subscriptions._client_for.cache_clear()
    assert errors == []
    assert Subscription.objects.count() == 300
    assert set(Subscription.objects.values_list("thinkific_id", flat=True)) == set(fake.webhooks)


def test_event_is_committed_before_receivers_run_even_with_atomic_requests(
    atomic_requests, connect
):
    """Another connection sees the stored event while the receivers are running."""
    seen_from_elsewhere = []

    def look_from_another_connection(sender, event, **kwargs):
        def look():
            try:
                seen_from_elsewhere.append(ReceivedEvent.objects.filter(pk=event.pk).exists())
            finally:
                connections.close_all()

        thread = threading.Thread(target=look)
        thread.start()
        thread.join(timeout=30)

    connect(webhook_received, look_from_another_connection)
    statuses = deliver_concurrently(json.dumps(sample_event("order.created")).encode(), 1)
    assert statuses == [200]
    assert seen_from_elsewhere == [True]


def test_failed_event_and_its_error_survive_atomic_requests(atomic_requests, failing_receiver):
    statuses = deliver_concurrently(json.dumps(sample_event("order.created")).encode(), 1)
    assert statuses == [200]
    stored = ReceivedEvent.objects.get()
    assert stored.status == "failed"
    assert "handler bug" in stored.last_error
