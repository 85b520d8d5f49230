"""Review 2: DISPATCH = "celery" with no broker (eager, as the example site runs
with CELERY_BROKER_URL empty): a failing receiver is retried immediately, 8 times,
inside the request, instead of with the documented backoff."""

from __future__ import annotations

import pytest

from django_thinkific.models import ReceivedEvent
from django_thinkific.signals import order_created
from django_thinkific.testing import post_event, sample_event


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
