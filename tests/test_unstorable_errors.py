"""Review 1: receivers (and their on_commit callbacks) whose error text a database cannot store.

README: "A receiver that raises never turns the answer into an error: the event is
kept as `failed` with its traceback and can be processed again."
README: on_commit callbacks: "one that raises ... is logged at ERROR ... but the
event stays `processed`".
"""

import pytest
from django.db import transaction

from django_thinkific.models import ReceivedEvent
from django_thinkific.signals import webhook_received
from django_thinkific.testing import post_event

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_receiver_raising_text_with_a_lone_surrogate_is_recorded_as_failed(client, connect):
    # os.fsdecode() of an undecodable file name, a surrogateescape'd header...:
    # ordinary Python text that no database can store.
    def receiver(**kwargs):
        raise FileNotFoundError("no such file: report-\udcff.csv")

    connect(webhook_received, receiver, sender=ReceivedEvent)
    response = post_event(client, "order.created")
    assert response.status_code == 200
    event = ReceivedEvent.objects.get()
    assert event.status == ReceivedEvent.Status.FAILED
    assert "FileNotFoundError" in event.last_error


def test_a_receiver_raising_text_with_a_nul_is_recorded_as_failed(client, connect):
    # PostgreSQL text cannot hold NUL: the failure record is refused, the answer is
    # 503 and the event stays claimed (pending) instead of `failed`.
    def receiver(**kwargs):
        raise RuntimeError("upstream said: \x00\x00binary")

    connect(webhook_received, receiver, sender=ReceivedEvent)
    response = post_event(client, "order.created")
    assert response.status_code == 200
    event = ReceivedEvent.objects.get()
    assert event.status == ReceivedEvent.Status.FAILED
    assert "RuntimeError" in event.last_error


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
