"""Review 2: edge values of MAX_EVENT_AGE and PROCESSING_TIMEOUT that `manage.py check`
accepts but that break receiving, processing and the sweep (OverflowError)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from django_thinkific.checks import check_settings
from django_thinkific.models import ReceivedEvent
from django_thinkific.signals import order_created
from django_thinkific.testing import post_event, sample_event

HUGE_AGE = 10**6  # a positive integer of days: "effectively never refuse"
HUGE_TIMEOUT = 10**12  # a positive integer of seconds: "never take a claim over"


@pytest.mark.django_db
def test_a_huge_max_event_age_is_reported_or_accepted_never_a_500(client, thinkific):
    """README: "`manage.py check` reports any THINKIFIC setting that is missing or
    malformed"; E013 only for "neither None nor a positive integer"; a valid signed
    delivery is answered 200. With MAX_EVENT_AGE = 10**6 the check is silent and
    every delivery that carries a created_at is a 500 (timedelta overflow)."""
    thinkific(MAX_EVENT_AGE=HUGE_AGE)
    ids = [m.id for m in check_settings()]
    client.raise_request_exception = False
    response = post_event(client, sample_event("order.created"))
    assert "django_thinkific.E013" in ids or response.status_code == 200, (
        ids,
        response.status_code,
    )


@pytest.mark.django_db
def test_a_huge_processing_timeout_is_reported_or_the_sweep_still_runs(thinkific):
    """README: the sweep "is safe to run at any time"; E007 only for "not positive
    integers". With PROCESSING_TIMEOUT = 10**12 the check is silent and
    `thinkific_recover_pending` dies with OverflowError."""
    thinkific(PROCESSING_TIMEOUT=HUGE_TIMEOUT)
    ids = [m.id for m in check_settings()]
    if "django_thinkific.E007" in ids:
        return
    out = io.StringIO()
    call_command("thinkific_recover_pending", stdout=out)  # raises OverflowError today
    assert "pending events found" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_a_huge_processing_timeout_with_celery_dispatch_still_processes(client, thinkific, connect):
    """With DISPATCH = "celery" every process_event task raises OverflowError in the
    claim: the event stays pending for good and its receivers never run, while
    `manage.py check` says nothing."""
    thinkific(PROCESSING_TIMEOUT=HUGE_TIMEOUT, DISPATCH="celery")
    ids = [m.id for m in check_settings()]
    ran = []
    connect(order_created, lambda **kw: ran.append(1))
    event = sample_event("order.created")
    assert post_event(client, event).status_code == 200
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert "django_thinkific.E007" in ids or (stored.status, ran) == ("processed", [1]), (
        ids,
        stored.status,
        ran,
    )
