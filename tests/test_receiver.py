"""The webhook endpoint, driven over HTTP: every row of the contract's table and more."""

import json
import logging

import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from django_thinkific.models import ReceivedEvent
from django_thinkific.signals import order_created, receiver_for, signal_for, webhook_received
from django_thinkific.testing import capture_events, post_event, sample_event, sign
from tests.helpers import WEBHOOK_URL as URL
from tests.helpers import raw_post
from tests.settings import API_KEY, APP_SECRET

pytestmark = pytest.mark.django_db


def test_url_name_and_mount():
    assert reverse("django_thinkific:webhook") == URL


# --- the contract's table ---------------------------------------------------------------


def test_valid_delivery_is_stored_once_and_signals_sent(client):
    event = sample_event("order.created", created_at="2018-01-26T22:23:20.808Z")
    with capture_events() as every, capture_events("order.created") as orders:
        response = post_event(client, event)
    assert response.status_code == 200
    stored = ReceivedEvent.objects.get()
    assert stored.event_id == event["id"]
    assert stored.topic == "order.created"
    assert stored.payload == event["payload"]
    assert stored.status == ReceivedEvent.Status.PROCESSED
    assert stored.attempts == 1
    assert stored.processed_at is not None
    assert stored.tenant_id == "3"
    assert stored.site == "acme-academy"
    assert stored.thinkific_created_at.isoformat() == "2018-01-26T22:23:20.808000+00:00"
    assert [c.topic for c in every] == ["order.created"]
    assert orders[0].event.pk == stored.pk
    assert orders[0].payload["amount_cents"] == 5000


def test_same_event_again_stores_nothing_and_does_not_rerun(client):
    event = sample_event("enrollment.completed")
    with capture_events("enrollment.completed") as calls:
        first = post_event(client, event)
        second = post_event(client, event)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["duplicate"] is True
    assert ReceivedEvent.objects.count() == 1
    assert len(calls) == 1
    assert ReceivedEvent.objects.get().attempts == 1


def test_missing_signature_is_401_and_stores_nothing(client):
    body = json.dumps(sample_event("order.created")).encode()
    response = raw_post(client, body)
    assert response.status_code == 401
    assert ReceivedEvent.objects.count() == 0


def test_wrong_signature_is_401_and_stores_nothing(client):
    response = post_event(client, "order.created", secret="not-the-key")
    assert response.status_code == 401
    assert response.json() == {"error": "invalid signature"}
    assert ReceivedEvent.objects.count() == 0


def test_signature_of_other_bytes_is_refused(client):
    body = json.dumps(sample_event("order.created")).encode()
    signature = sign(body + b" ", API_KEY)
    response = raw_post(client, body, HTTP_X_THINKIFIC_HMAC_SHA256=signature)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"a string"', "JSON object"),
        (b'{"resource": "order", "action": "created"}', "'id' is missing"),
        (b'{"id": "1", "action": "created"}', "'resource' is missing"),
        (b'{"id": "1", "resource": "order"}', "'action' is missing"),
        (b'{"id": "", "resource": "order", "action": "created"}', "'id' must not be empty"),
        (b'{"id": true, "resource": "order", "action": "created"}', "string or a whole number"),
        (b'{"id": {"a": 1}, "resource": "order", "action": "created"}', "string or a whole number"),
        (b'{"id": "1", "resource": "order", "action": "created", "payload": [1]}', "'payload'"),
        (b'{"id": NaN, "resource": "order", "action": "created"}', "NaN"),
        (b'{"id": "1", "resource": "order", "action": "created", "x": "\\u0000"}', "NUL"),
        (b'{"id": "1", "resource": "order", "action": "created", "x": "\\ud800"}', "surrogate"),
        (b'{"id": "' + b"9" * 65 + b'", "resource": "order", "action": "created"}', "longer"),
        # Deep enough that the parser itself gives up on every Python (3.13 parses 5,000).
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        (b'{"id": ' + b"9" * 5000 + b', "resource": "o", "action": "c"}', "not valid JSON"),
        (b'{"id": "1", "resource": "o", "action": "c", "payload": {"x": 1e400}}', "out of range"),
        (b'{"id": "1", "resource": "o", "action": "c", "payload": {"x": -Infinity}}', "Infinity"),
    ],
)
def test_bad_envelope_is_400_and_stores_nothing(client, body, reason):
    response = raw_post(client, body, HTTP_X_THINKIFIC_HMAC_SHA256=sign(body, API_KEY))
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert ReceivedEvent.objects.count() == 0


def test_numeric_ids_are_accepted_as_strings(client):
    event = {
        "id": 20180126172320940835610,
        "resource": "order",
        "action": "created",
        "tenant_id": 3,
    }
    response = post_event(client, event)
    assert response.status_code == 200
    stored = ReceivedEvent.objects.get()
    assert (stored.event_id, stored.tenant_id, stored.payload) == (
        "20180126172320940835610",
        "3",
        {},
    )


def test_unreadable_created_at_keeps_the_event(client):
    response = post_event(client, sample_event("order.created", created_at="yesterday"))
    assert response.status_code == 200
    assert ReceivedEvent.objects.get().thinkific_created_at is None


def test_body_over_limit_is_413_before_reading(client, thinkific):
    thinkific(MAX_BODY_SIZE=1000)
    event = sample_event("order.created", payload={"note": "x" * 2000})
    response = post_event(client, event)
    assert response.status_code == 413
    assert ReceivedEvent.objects.count() == 0


def test_declared_oversize_body_is_refused_without_reading_it(rf, thinkific):
    from django_thinkific.views import webhook

    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

    thinkific(MAX_BODY_SIZE=1000)
    request = rf.post(URL, data=b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = str(50 * 1024 * 1024)
    request._stream = Unreadable()
    assert webhook(request).status_code == 413


def test_control_characters_in_recorded_headers_are_dropped(client):
    response = post_event(
        client,
        "order.created",
        site="acme\x00-academy\n",
        HTTP_X_THINKIFIC_TOPIC="order.\x00created",
    )
    assert response.status_code == 200
    stored = ReceivedEvent.objects.get()
    assert (stored.site, stored.header_topic) == ("acme-academy", "order.created")


def test_body_over_limit_without_content_length_is_413(rf, thinkific):
    from django_thinkific.views import webhook

    thinkific(MAX_BODY_SIZE=1000)
    body = json.dumps(sample_event("order.created", payload={"note": "x" * 2000})).encode()
    request = rf.post(URL, data=body, content_type="application/json")
    request.META["CONTENT_LENGTH"] = ""  # chunked: the size is unknown until read
    request.META["HTTP_X_THINKIFIC_HMAC_SHA256"] = sign(body, API_KEY)
    assert webhook(request).status_code == 413
    assert ReceivedEvent.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head", "options"])
def test_other_methods_are_405(client, method):
    response = getattr(client, method)(URL)
    assert response.status_code == 405
    assert ReceivedEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_database_down_is_503_and_stores_nothing(client, caplog):
    def refuse_inserts(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_inserts), capture_events() as calls:
        response = post_event(client, "order.created")
    assert response.status_code == 503
    assert ReceivedEvent.objects.count() == 0
    assert calls == []
    assert "answering 503 so it is retried" in caplog.text
    # Thinkific retries; with the database back the retry is stored.


@pytest.mark.django_db(transaction=True)
def test_retry_after_503_is_stored(client):
    event = sample_event("order.created")

    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refuse):
        assert post_event(client, event).status_code == 503
    assert post_event(client, event).status_code == 200
    assert ReceivedEvent.objects.get().status == "processed"


# --- signatures ---------------------------------------------------------------------------


def test_signed_with_the_api_key(client):
    assert post_event(client, "order.created", secret=API_KEY).status_code == 200


def test_signed_with_the_app_client_secret(client):
    assert post_event(client, "order.created", secret=APP_SECRET).status_code == 200


def test_rotation_accepts_old_and_new_until_old_is_removed(client, thinkific):
    thinkific(WEBHOOK_SECRETS=["new-key", "old-key"])
    assert post_event(client, "order.created", secret="old-key").status_code == 200
    assert post_event(client, "order.created", secret="new-key").status_code == 200
    thinkific(WEBHOOK_SECRETS=["new-key"])
    assert post_event(client, "order.created", secret="old-key").status_code == 401
    assert ReceivedEvent.objects.count() == 2


def test_uppercase_hex_signature_is_accepted(client):
    body = json.dumps(sample_event("order.created")).encode()
    response = raw_post(client, body, HTTP_X_THINKIFIC_HMAC_SHA256=sign(body, API_KEY).upper())
    assert response.status_code == 200


def test_no_secret_configured_refuses_everything(client, thinkific):
    thinkific(API_KEY=None, APP_CLIENT_SECRET=None)
    assert post_event(client, "order.created", secret="anything").status_code == 401


def test_refusal_logged_with_address_never_secret_or_body(client, caplog):
    event = sample_event("order.created", payload={"billing_name": "Secret Customer"})
    with caplog.at_level(logging.WARNING, logger="django_thinkific"):
        post_event(client, event, secret="attacker-key", REMOTE_ADDR="203.0.113.9")
    (record,) = [r for r in caplog.records if r.name == "django_thinkific.webhooks"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "203.0.113.9" in message
    for secret in (API_KEY, APP_SECRET, "attacker-key", "Secret Customer", event["id"]):
        assert secret not in caplog.text


# --- topics and payloads ------------------------------------------------------------------


def test_topic_comes_from_the_body_header_only_recorded(client):
    event = sample_event("order.created")
    with capture_events("order.created") as orders, capture_events("enrollment.created") as enr:
        response = post_event(client, event, HTTP_X_THINKIFIC_TOPIC="enrollment.created")
    assert response.status_code == 200
    stored = ReceivedEvent.objects.get()
    assert stored.topic == "order.created"
    assert stored.header_topic == "enrollment.created"
    assert (len(orders), len(enr)) == (1, 0)


def test_non_ascii_payload_round_trips(client):
    event = sample_event("user.updated")
    event["payload"]["bio"] = "Ünïcödé ✓ 日本語 🎓"
    assert post_event(client, event).status_code == 200
    stored = ReceivedEvent.objects.get()
    assert stored.payload["first_name"] == "José"
    assert stored.payload["bio"] == "Ünïcödé ✓ 日本語 🎓"


def test_500_kb_payload_is_stored_whole(client):
    lessons = [{"id": i, "name": f"Lesson {i} – ünïcode", "body": "x" * 480} for i in range(1000)]
    event = sample_event("course.updated", payload={"lessons": lessons})
    body = json.dumps(event).encode()
    assert 500_000 < len(body) < 1024 * 1024
    assert post_event(client, body).status_code == 200
    assert ReceivedEvent.objects.get().payload["lessons"] == lessons


def test_unknown_topic_is_stored_and_sent_to_webhook_received(client):
    event = sample_event("certificate.issued", payload={"certificate_id": 7})
    with capture_events() as every:
        response = post_event(client, event)
    assert response.status_code == 200
    stored = ReceivedEvent.objects.get()
    assert (stored.topic, stored.status) == ("certificate.issued", "processed")
    assert [c.topic for c in every] == ["certificate.issued"]


@pytest.mark.parametrize("topic", ["lead.created", "order_transaction.refunded", "app.uninstalled"])
def test_each_sample_fires_its_own_signal(client, topic):
    with capture_events(topic) as calls:
        assert post_event(client, topic).status_code == 200
    assert calls[0].topic == topic


# --- receivers that fail ------------------------------------------------------------------


def test_receiver_that_raises_still_answers_200_and_records_failure(client, failing_receiver):
    with capture_events("order.created") as others:
        response = post_event(client, "order.created")
    assert response.status_code == 200
    stored = ReceivedEvent.objects.get()
    assert stored.status == ReceivedEvent.Status.FAILED
    assert "RuntimeError: handler bug: no such course" in stored.last_error
    assert "Traceback" in stored.last_error
    assert "explode" in stored.last_error
    assert len(others) == 1  # the other receivers still ran


def test_writes_of_a_failed_event_are_rolled_back(
    client, failing_receiver, django_user_model, connect
):
    def create_user(sender, payload, **kwargs):
        django_user_model.objects.create(username=payload["user"]["email"])

    connect(order_created, create_user)
    post_event(client, "order.created")
    assert ReceivedEvent.objects.get().status == "failed"
    assert not django_user_model.objects.exists()


def test_retry_after_failure_runs_again_and_counts(client, connect):
    event = sample_event("enrollment.completed")
    seen = []

    def flaky(sender, event, **kwargs):
        seen.append(event.attempts)
        if len(seen) == 1:
            raise ValueError("first time fails")

    connect(webhook_received, flaky)
    assert post_event(client, event).status_code == 200
    assert ReceivedEvent.objects.get().status == "failed"
    assert post_event(client, event).status_code == 200
    stored = ReceivedEvent.objects.get()
    assert seen == [1, 2]
    assert (stored.status, stored.attempts, stored.last_error) == ("processed", 2, "")
    # a third delivery of the now-processed event does nothing
    with capture_events() as calls:
        post_event(client, event)
    assert calls == []


@pytest.mark.django_db(transaction=True)
def test_atomic_requests_does_not_roll_back_the_event_or_its_error(
    client, atomic_requests, failing_receiver
):
    response = post_event(client, "order.created")
    assert response.status_code == 200
    stored = ReceivedEvent.objects.get()
    assert stored.status == "failed"
    assert "handler bug" in stored.last_error


def test_abandoned_claim_is_taken_over_by_a_redelivery(client, thinkific):
    """A process that died mid-handler leaves the event pending; a later retry finishes it."""
    event = sample_event("order.created")
    post_event(client, event)
    ReceivedEvent.objects.update(status="pending", processed_at=None)  # as if it crashed
    with capture_events("order.created") as calls:
        # Within PROCESSING_TIMEOUT it may still be running: 503 so Thinkific retries.
        response = post_event(client, event)
        assert response.status_code == 503
        assert response["Retry-After"] == "10"
        assert calls == []
        thinkific(PROCESSING_TIMEOUT=1)
        from datetime import timedelta

        from django.utils import timezone

        ReceivedEvent.objects.update(last_attempt_at=timezone.now() - timedelta(seconds=5))
        post_event(client, event)
    assert len(calls) == 1
    assert ReceivedEvent.objects.get().status == "processed"


# --- celery dispatch ----------------------------------------------------------------------


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_celery_dispatch_stores_then_processes_in_the_task(client, thinkific):
    thinkific(DISPATCH="celery")
    with capture_events("order.created") as calls:
        response = post_event(client, "order.created")
    assert response.status_code == 200
    # No broker here (eager): the task ran in the request, and the answer says so.
    assert response.json()["status"] == "processed"
    stored = ReceivedEvent.objects.get()
    assert (stored.status, stored.attempts) == ("processed", 1)
    assert len(calls) == 1


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_celery_dispatch_without_a_broker_fails_once_without_inline_retries(
    client, thinkific, failing_receiver
):
    """Eagerly Celery would run each retry at once, inside the request: it does not.
    (The backoff on a real worker: tests/test_celery_broker.py.)"""
    thinkific(DISPATCH="celery")
    response = post_event(client, "order.created")
    assert (response.status_code, response.json()["status"]) == (200, "failed")
    stored = ReceivedEvent.objects.get()
    assert stored.status == "failed"
    assert stored.attempts == 1
    assert "handler bug" in stored.last_error


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_celery_broker_down_keeps_event_pending_and_answers_200(client, thinkific, monkeypatch):
    from django_thinkific import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    thinkific(DISPATCH="celery")
    monkeypatch.setattr(tasks.process_event, "apply_async", broker_down)
    event = sample_event("order.created")
    assert post_event(client, event).status_code == 200
    assert ReceivedEvent.objects.get().status == "pending"
    monkeypatch.undo()
    thinkific(DISPATCH="celery")
    # Thinkific's retry (or any redelivery) enqueues it again once the broker is back.
    assert post_event(client, event).status_code == 200
    assert ReceivedEvent.objects.get().status == "processed"


# --- receiver_for -------------------------------------------------------------------------


def test_receiver_for_connects_several_topics(client, connect):
    calls = []
    for topic in ("order.created", "enrollment.completed"):
        connect.by_uid(signal_for(topic), f"test-several:{topic}")

    @receiver_for("order.created", "enrollment.completed", dispatch_uid="test-several")
    def handler(sender, topic, **kwargs):
        calls.append(topic)

    post_event(client, "order.created")
    post_event(client, "enrollment.completed")
    post_event(client, "user.signin")
    assert calls == ["order.created", "enrollment.completed"]


def test_receiver_for_rejects_unknown_topics_with_a_hint():
    with pytest.raises(ValueError, match=r"'order.create' \(did you mean 'order.created'"):
        receiver_for("order.create")
    with pytest.raises(ValueError, match="at least one"):
        receiver_for()


@pytest.mark.django_db(transaction=True)
def test_outcome_not_recorded_then_retried_until_taken_over(client, thinkific):
    """The database fails after the receivers ran: 503; the retries finish the event."""
    event = sample_event("order.created")

    def refuse_updates(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE"):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with capture_events("order.created") as calls:
        with connection.execute_wrapper(refuse_updates):
            assert post_event(client, event).status_code == 503
        stored = ReceivedEvent.objects.get()
        assert (stored.status, stored.attempts) == ("pending", 1)  # stored, outcome unknown
        assert post_event(client, event).status_code == 503  # maybe still running elsewhere
        thinkific(PROCESSING_TIMEOUT=1)
        from datetime import timedelta

        from django.utils import timezone

        ReceivedEvent.objects.update(last_attempt_at=timezone.now() - timedelta(seconds=5))
        assert post_event(client, event).status_code == 200
    assert len(calls) == 2  # the first run was rolled back with its outcome; one run counted
    stored.refresh_from_db()
    assert (stored.status, stored.attempts) == ("processed", 2)


def test_a_lost_claim_rolls_back_the_slow_run(client, django_user_model, connect):
    """A run so slow that another process took the event over must not commit too."""
    from django.db.models import F

    def slow(sender, event, payload, **kwargs):
        django_user_model.objects.create(username="granted-access")
        # meanwhile another process takes the event over (bumps the version)
        ReceivedEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)

    connect(order_created, slow)
    response = post_event(client, "order.created")
    # The process that took the event over answers for it; this delivery gets 503
    # (Thinkific retries) instead of a 200 that no synchronous commit backs.
    assert response.status_code == 503
    assert not django_user_model.objects.filter(username="granted-access").exists()
    assert ReceivedEvent.objects.get().status == "pending"  # the new owner records the outcome


def test_one_receivers_database_error_does_not_break_the_next(client, django_user_model, connect):
    """On PostgreSQL a failed query aborts the transaction; each receiver has its own savepoint."""
    from django.db import IntegrityError

    django_user_model.objects.create(username="taken")
    seen = []

    def duplicate_user(sender, **kwargs):
        django_user_model.objects.create(username="taken")

    def next_receiver(sender, **kwargs):
        seen.append(django_user_model.objects.count())

    connect(webhook_received, duplicate_user)
    connect(webhook_received, next_receiver)
    post_event(client, "order.created")
    stored = ReceivedEvent.objects.get()
    assert seen == [1]  # it ran, and its query worked
    assert stored.status == "failed"
    assert IntegrityError.__name__ in stored.last_error
    assert "TransactionManagementError" not in stored.last_error


def test_logged_address_ignores_forwarded_headers_unless_configured(client, caplog, thinkific):
    spoofed = {"HTTP_X_FORWARDED_FOR": "198.51.100.7", "REMOTE_ADDR": "10.0.0.2"}
    with caplog.at_level(logging.WARNING, logger="django_thinkific.webhooks"):
        post_event(client, "order.created", secret="wrong", **spoofed)
    assert "from 10.0.0.2" in caplog.text
    assert "198.51.100.7" not in caplog.text
    caplog.clear()
    thinkific(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
    with caplog.at_level(logging.WARNING, logger="django_thinkific.webhooks"):
        post_event(
            client,
            "order.created",
            secret="wrong",
            HTTP_X_FORWARDED_FOR="203.0.113.50, 198.51.100.7",
            REMOTE_ADDR="10.0.0.2",
        )
    assert "from 198.51.100.7" in caplog.text  # the entry the site's own proxy added


def test_backends_without_on_conflict_use_the_orm_path(client, monkeypatch):
    """MariaDB/MySQL (no ``ON CONFLICT (col)``): Model.save() and the unique constraint."""
    monkeypatch.setattr(connection.features, "supports_update_conflicts_with_target", False)
    event = sample_event("order.created")
    with capture_events("order.created") as calls:
        assert post_event(client, event).status_code == 200
        second = post_event(client, event)
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert ReceivedEvent.objects.count() == 1
    assert len(calls) == 1


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "options"])
def test_another_method_is_a_json_405_naming_post(client, method):
    response = getattr(client, method)(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Thinkific delivers webhooks by POST."}
