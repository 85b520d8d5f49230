"""Faults under load, end to end: the example site under gunicorn on the real PostgreSQL.

What an operator would check after each fault: the HTTP answers Thinkific got
(200 stored, 503 retry later; never a dropped connection when only the
database or the broker failed), the rows in ``ReceivedEvent``, and how many
times the site's receivers ran (counted in the log lines of
``example_project/shop/receivers.py``; ``SHOP_SLOW_RECEIVER_SECONDS`` makes
them slow). Every loop and wait is bounded in count and time.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connections

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import sample_event
from tests import db_plugin
from tests.helpers import rows, wait_until_processed
from tests.stack import ANSWER_TIMEOUT, ExampleStack, ThrowawayRedis, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Status = ReceivedEvent.Status


# ------------------------------------------------------------------ helpers


@pytest.fixture
def make_stack(transactional_db):
    """Build example stacks on the test database; all are stopped at the end."""
    stacks: list[ExampleStack] = []

    def make(*, redis_url: str = "", **env: str) -> ExampleStack:
        stack = ExampleStack.on_test_database(redis_url=redis_url, **env)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()


def _shop_lines(log: str, text: str) -> int:
    """Lines the shop's logger wrote containing ``text``.

    Counted in the Django handler's format only: a Celery worker also echoes
    each record through its own root handler.
    """
    return sum(1 for line in log.splitlines() if "example_project.shop: " in line and text in line)


def sale_runs(log: str, event_id: str) -> int:
    """How many times ``record_sale`` ran for an ``order.created`` event."""
    return _shop_lines(log, f"(event {event_id})")


def slow_runs_finished(log: str, event_id: str) -> int:
    """How many times the slow receiver finished its sleep for an event."""
    return _shop_lines(log, f"slow receiver: done with event {event_id}")


# ------------------------------------------------------------------- tests


def test_database_stopped_mid_burst_then_started(make_stack):
    """Each delivery is answered 200 or 503; after the retries every event is stored once."""
    cluster = db_plugin._cluster
    assert cluster is not None, "needs --database=postgres"
    stack = make_stack(THINKIFIC_DISPATCH="sync", THINKIFIC_PROCESSING_TIMEOUT="2")
    stack.start_web(workers=4)

    events: list[dict] = []
    answers: dict[str, list[int | str]] = {}
    lock = threading.Lock()
    restarted = threading.Event()
    finished = threading.Event()
    sent_after_restart = 0

    def next_event() -> dict | None:
        nonlocal sent_after_restart
        with lock:
            if finished.is_set() or len(events) >= 3000:
                return None
            if restarted.is_set():
                sent_after_restart += 1
                if sent_after_restart > 80:
                    return None
            event = sample_event("order.created")
            events.append(event)
            return event

    def sender() -> None:
        session = requests.Session()
        while (event := next_event()) is not None:
            try:
                outcome: int | str = stack.deliver(event, session=session).status_code
            except requests.RequestException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            with lock:
                answers.setdefault(event["id"], []).append(outcome)

    threads = [threading.Thread(target=sender) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(answers) >= 60, timeout=30, what="the first 60 answers")
        cluster.stop_server()
        time.sleep(1.0)  # down for a while, under load
    finally:
        cluster.start_server()  # the rest of the session needs it, whatever happened
        restarted.set()
    try:
        for thread in threads:
            thread.join(timeout=60)
    finally:
        finished.set()
    assert not any(thread.is_alive() for thread in threads)
    connections.close_all()  # the test process's own connections died with the server

    first_answers = [outcomes[0] for outcomes in answers.values()]
    assert len(first_answers) == len(events)
    assert set(first_answers) <= {200, 503}, [a for a in first_answers if a not in (200, 503)]
    assert first_answers.count(503) > 0, "the outage was not seen by any delivery"
    assert first_answers.count(200) >= 60

    ids = [event["id"] for event in events]
    stored = rows(ids)
    answered_200 = [i for i in ids if answers[i][-1] == 200]
    assert [i for i in answered_200 if i not in stored] == []  # a 200 means stored

    # Thinkific retries whatever was not answered 200 (bounded, past PROCESSING_TIMEOUT).
    by_id = {event["id"]: event for event in events}
    for _ in range(12):
        missing = [i for i in ids if answers[i][-1] != 200]
        if not missing:
            break
        session = requests.Session()
        for event_id in missing:
            answers[event_id].append(stack.deliver(by_id[event_id], session=session).status_code)
        time.sleep(1)
    assert [i for i in ids if answers[i][-1] != 200] == []
    assert {a for outcomes in answers.values() for a in outcomes} <= {200, 503}

    stored = rows(ids)
    assert len(stored) == len(ids) == ReceivedEvent.objects.count()
    assert {e.status for e in stored.values()} == {Status.PROCESSED}


def test_gunicorn_worker_killed_mid_request(make_stack):
    """SIGKILL mid-handler leaves the event claimed, not processed; the retry processes it once."""
    stack = make_stack(
        THINKIFIC_DISPATCH="sync",
        THINKIFIC_PROCESSING_TIMEOUT="2",
        SHOP_SLOW_RECEIVER_SECONDS="3",
    )
    web = stack.start_web(workers=2)
    event = sample_event("order.created")
    event_id = event["id"]
    outcome: dict[str, object] = {}

    def first_delivery() -> None:
        try:
            outcome["answer"] = stack.deliver(event).status_code
        except requests.RequestException as exc:
            outcome["answer"] = exc

    thread = threading.Thread(target=first_delivery)
    thread.start()
    wait_for(
        lambda: f"slow receiver: sleeping 3s for event {event_id}" in web.log_text(),
        timeout=20,
        what="the receiver to start",
        log=web.log,
    )
    workers = web.children()
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    thread.join(timeout=ANSWER_TIMEOUT + 5)
    assert isinstance(outcome.get("answer"), requests.ConnectionError), outcome

    # No half-stored event: claimed and still pending, nothing of the handler kept.
    event_row = ReceivedEvent.objects.get(event_id=event_id)
    assert (event_row.status, event_row.attempts, event_row.processed_at) == (
        Status.PENDING,
        1,
        None,
    )
    assert slow_runs_finished(web.log_text(), event_id) == 0
    assert sale_runs(web.log_text(), event_id) == 0

    # Thinkific retries; the first retry after PROCESSING_TIMEOUT takes the event over.
    wait_for(
        lambda: bool(web.children()) and set(web.children()).isdisjoint(workers),
        timeout=20,
        what="gunicorn's new workers",
        log=web.log,
    )
    time.sleep(2.5)
    answer = stack.deliver(event)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == Status.PROCESSED

    assert ReceivedEvent.objects.filter(event_id=event_id).count() == 1
    event_row.refresh_from_db()
    assert (event_row.status, event_row.attempts) == (Status.PROCESSED, 2)
    log = web.log_text()
    assert slow_runs_finished(log, event_id) == 1
    assert sale_runs(log, event_id) == 1


@pytest.mark.redis
def test_celery_dispatch_with_the_broker_down(make_stack):
    """Deliveries are stored pending and answered 200; the recovery command queues them later."""
    broker = ThrowawayRedis()  # our own: this test stops it
    try:
        stack = make_stack(redis_url=broker.start(), THINKIFIC_DISPATCH="celery")
        stack.start_web(workers=2)
        broker.stop_server()

        events = [sample_event("order.created") for _ in range(5)]
        ids = [event["id"] for event in events]
        for event in events:
            began = time.monotonic()
            answer = stack.deliver(event)
            took = time.monotonic() - began
            assert answer.status_code == 200, answer.text
            assert answer.json()["status"] == Status.PENDING
            assert took < 5, f"answered in {took:.1f}s"
        stored = rows(ids)
        assert len(stored) == 5
        assert {(e.status, e.attempts) for e in stored.values()} == {(Status.PENDING, 0)}

        broker.start()  # the same port: the site and the worker find it again
        worker = stack.start_worker()
        time.sleep(1.5)  # past THINKIFIC_PROCESSING_TIMEOUT=1 below; the lost tasks stay lost
        assert {e.status for e in rows(ids).values()} == {Status.PENDING}
        result = stack.manage(
            "thinkific_recover_pending", env={"THINKIFIC_PROCESSING_TIMEOUT": "1"}
        )
        assert result.returncode == 0, result.stderr
        assert "5 pending events found, 5 queued again." in result.stdout

        found = wait_until_processed(ids, timeout=60)
        assert {e.attempts for e in found.values()} == {1}
        log = worker.log_text()
        assert [sale_runs(log, i) for i in ids] == [1] * 5

        # The site queues new deliveries again now that the broker is back.
        later = sample_event("order.created")
        assert stack.deliver(later).status_code == 200
        wait_until_processed([later["id"]], timeout=30)
    finally:
        broker.stop()


def test_same_event_delivered_by_50_concurrent_requests(make_stack):
    """One row, receivers run once; answers are 200 or 503 (still in flight)."""
    stack = make_stack(THINKIFIC_DISPATCH="sync", SHOP_SLOW_RECEIVER_SECONDS="0.5")
    web = stack.start_web(workers=8)
    event = sample_event("order.created")
    event_id = event["id"]
    barrier = threading.Barrier(50, timeout=30)

    def one() -> tuple[int | str, str | None]:
        session = requests.Session()
        barrier.wait()
        try:
            answer = stack.deliver(event, session=session)
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}", None
        return answer.status_code, answer.headers.get("Retry-After")

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda _: one(), range(50)))

    outcomes = [status for status, _ in answers]
    assert set(outcomes) <= {200, 503}, outcomes
    assert 200 in outcomes
    assert {retry_after for status, retry_after in answers if status == 503} <= {"10"}
    assert ReceivedEvent.objects.filter(event_id=event_id).count() == 1
    event_row = ReceivedEvent.objects.get(event_id=event_id)
    assert (event_row.status, event_row.attempts) == (Status.PROCESSED, 1)

    final = stack.deliver(event)  # a later retry of any 503
    assert final.status_code == 200
    assert final.json() == {"id": event_id, "status": Status.PROCESSED, "duplicate": True}
    log = web.log_text()
    assert slow_runs_finished(log, event_id) == 1
    assert sale_runs(log, event_id) == 1


@pytest.mark.redis
def test_slow_receiver_with_celery_dispatch_answers_fast(make_stack, redis_url):
    """A 2 s receiver on the worker does not delay the answers."""
    stack = make_stack(
        redis_url=redis_url, THINKIFIC_DISPATCH="celery", SHOP_SLOW_RECEIVER_SECONDS="2"
    )
    stack.start_web(workers=2)
    worker = stack.start_worker(concurrency=4)
    events = [sample_event("order.created") for _ in range(20)]
    ids = [event["id"] for event in events]

    def timed(event: dict) -> tuple[int, float]:
        began = time.monotonic()
        status = stack.deliver(event).status_code
        return status, time.monotonic() - began

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(timed, events))

    assert [status for status, _ in answers] == [200] * 20
    slowest = max(took for _, took in answers)
    assert slowest < 5, f"slowest answer {slowest:.1f}s"

    found = wait_until_processed(ids, timeout=60)
    assert {e.attempts for e in found.values()} == {1}
    log = worker.log_text()
    assert [slow_runs_finished(log, i) for i in ids] == [1] * 20
    assert [sale_runs(log, i) for i in ids] == [1] * 20
