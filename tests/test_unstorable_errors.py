"""A receiver (or its on_commit callback) whose error text no database column can hold:
a NUL (PostgreSQL's text refuses it) or a lone surrogate (``surrogateescape`` decoding
makes them; no database stores one).

README: "A receiver that raises never turns the answer into an error: the event is
kept as `failed` with its traceback and can be processed again"; on_commit callbacks:
"one that raises ... is logged at ERROR ... but the event stays `processed`". The same
under DISPATCH = "celery", for the admin's "Process again" and for the sweep.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from django_thinkific.models import ReceivedEvent
from django_thinkific.signals import order_created, webhook_received
from django_thinkific.testing import post_event, sample_event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "error",
    [
        # os.fsdecode() of an undecodable file name, a surrogateescape'd header...:
        # ordinary Python text that no database can store.
        FileNotFoundError("no such file: report-\udcff.csv"),
        # PostgreSQL text cannot hold NUL: the failure is still recorded, not refused
        # with a 503 and the event left claimed (pending).
        RuntimeError("upstream said: \x00\x00binary"),
    ],
    ids=["lone-surrogate", "nul"],
)
def test_a_receiver_raising_unstorable_text_is_recorded_as_failed(client, connect, error):
    def receiver(**kwargs):
        raise error

    connect(webhook_received, receiver, sender=ReceivedEvent)
    response = post_event(client, "order.created")
    assert response.status_code == 200
    event = ReceivedEvent.objects.get()
    assert event.status == ReceivedEvent.Status.FAILED
    assert type(error).__name__ in event.last_error


def test_an_on_commit_callback_raising_a_lone_surrogate_leaves_the_event_processed(client, connect):
    def receiver(**kwargs):
        def send_mail():
            raise OSError("mail server said \udcff")

        transaction.on_commit(send_mail)

    connect(webhook_received, receiver, sender=ReceivedEvent)
    response = post_event(client, "order.created")
    assert response.status_code == 200
    event = ReceivedEvent.objects.get()
    assert event.status == ReceivedEvent.Status.PROCESSED


# --- a message no column can hold: the answer, Celery, Process again, the sweep -----------


MESSAGES = {
    # e.g. a decoded binary answer of the CRM, quoted in the error message
    "nul": "CRM refused the order: \x00\x01 binary answer",
    # e.g. a file name or an answer decoded with errors="surrogateescape"
    "surrogate": "CRM refused the order: " + b"caf\xe9".decode("utf-8", "surrogateescape"),
}


@pytest.fixture(params=sorted(MESSAGES))
def connected(request, connect):
    message = MESSAGES[request.param]

    def unstorable_error(sender, event, payload, **kwargs):
        if payload.get("ok"):
            return
        raise RuntimeError(message)

    connect(order_created, unstorable_error)


@pytest.mark.django_db(transaction=True)
def test_a_receiver_error_is_recorded_as_failed_and_answered_200(client, connected):
    """README: "A receiver that raises never turns the answer into an error: the event
    is kept as `failed` with its traceback and can be processed again." Not a 503
    (NUL, PostgreSQL) or a 500 (surrogate) with the event left pending and claimed,
    every retry within PROCESSING_TIMEOUT answered 503 as "in flight"."""
    event = sample_event("order.created")
    client.raise_request_exception = False
    response = post_event(client, event)
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert response.status_code == 200, (response.status_code, response.content[:100])
    assert stored.status == "failed"
    assert "CRM refused the order" in stored.last_error
    again = post_event(client, event)
    assert again.status_code == 200


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_receiver_error_under_celery_dispatch_ends_failed(client, connected, thinkific):
    """Under DISPATCH = "celery" the task records the failure too, instead of raising
    and leaving the event pending (claimed), with no traceback and no retry."""
    thinkific(DISPATCH="celery")
    event = sample_event("order.created")
    assert post_event(client, event).status_code == 200
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert stored.status == "failed", (stored.status, stored.attempts, stored.last_error)
    assert "CRM refused the order" in stored.last_error


@pytest.mark.django_db(transaction=True)
def test_process_again_reports_the_event_failed_again(admin_client, connected):
    """Admin "Process again": the event must end failed with its error, not be left
    pending (claimed) and reported as "being processed right now", nor a 500."""
    from django.urls import reverse

    event = ReceivedEvent.objects.create(
        event_id="20240101000000000000001",
        topic="order.created",
        resource="order",
        action="created",
        payload={},
        status="failed",
    )
    admin_client.raise_request_exception = False
    response = admin_client.post(
        reverse("admin:django_thinkific_receivedevent_changelist"),
        {"action": "process_again_action", "_selected_action": [event.pk]},
    )
    event.refresh_from_db()
    assert response.status_code == 302, response.status_code
    assert event.status == "failed"
    assert "CRM refused the order" in event.last_error


@pytest.mark.django_db(transaction=True)
def test_the_sweep_goes_on_past_an_event_whose_error_cannot_be_stored(connected):
    """README: the sweep "is safe to run at any time"; dispatch.recover_pending: "one
    event's failure, whatever it raised, never stops the others"."""
    old = timezone.now() - timedelta(hours=1)
    bad, good = (
        ReceivedEvent.objects.create(
            event_id=f"2024010100000000000000{n}",
            topic="order.created",
            resource="order",
            action="created",
            payload=payload,
            received_at=old + timedelta(seconds=n),
        )
        for n, payload in ((1, {}), (2, {"ok": True}))
    )
    out = io.StringIO()
    try:
        call_command("thinkific_recover_pending", stdout=out)
    finally:
        bad.refresh_from_db()
        good.refresh_from_db()
    assert good.status == "processed", (good.status, out.getvalue())
    assert bad.status == "failed"
