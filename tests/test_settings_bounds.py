"""Review 1: settings that pass every system check and then break deliveries.

README: "system checks for every setting"; CONTRACT: "Missing or malformed settings
are reported by Django system checks (`manage.py check`) ..., not by a crash".
"""

import io

import pytest
from django.core import checks
from django.test import override_settings

from django_thinkific.models import ReceivedEvent
from django_thinkific.signals import webhook_received
from django_thinkific.testing import post_event, sample_event

pytestmark = pytest.mark.django_db(transaction=True)


def _app_errors():
    return [m for m in checks.run_checks() if m.id.startswith("django_thinkific.")]


@pytest.fixture
def a_receiver(connect):
    calls = []
    connect(webhook_received, lambda **kw: calls.append(kw), sender=ReceivedEvent)
    return calls


def test_a_processing_timeout_that_passes_e007_does_not_break_redeliveries(
    client, thinkific, a_receiver
):
    # 10**12 seconds is a positive integer, so E007 says nothing; every retry of a
    # failed event (and the recovery sweep) then computes now - 10**12 s: OverflowError.
    thinkific(PROCESSING_TIMEOUT=10**12)
    event = sample_event("order.created")
    assert post_event(client, event).status_code == 200
    ReceivedEvent.objects.update(status=ReceivedEvent.Status.FAILED)
    assert "django_thinkific.E007" in {m.id for m in _app_errors()}  # reported ...
    response = post_event(client, event)  # ... and meanwhile taken as the longest it can be
    assert response.status_code == 200
    assert ReceivedEvent.objects.get().status == ReceivedEvent.Status.PROCESSED


def test_a_processing_timeout_that_passes_e007_does_not_break_the_sweep(thinkific):
    from django.core.management import call_command

    thinkific(PROCESSING_TIMEOUT=10**12)
    assert "django_thinkific.E007" in {m.id for m in _app_errors()}
    call_command("thinkific_recover_pending", stdout=io.StringIO())


def test_a_site_without_time_zone_support_is_told():
    # Django 4.2 (supported) defaults to USE_TZ = False. Every delivery carrying a
    # created_at then answers 500 (aware vs naive comparison), and no check says why.
    with override_settings(USE_TZ=False):
        errors = _app_errors()
    assert [m.id for m in errors] == ["django_thinkific.E015"]
    assert "USE_TZ = True" in errors[0].msg


def test_a_max_event_age_that_passes_e013_does_not_break_deliveries(client, thinkific):
    # "Refuse replays older than a million days" is a positive integer: E013 is silent,
    # and every delivery carrying a created_at then computes now - 10**6 days: a 500.
    thinkific(MAX_EVENT_AGE=1_000_000)
    assert "django_thinkific.E013" in {m.id for m in _app_errors()}
    response = post_event(client, "order.created")
    assert response.status_code == 200
    old = sample_event("enrollment.completed", created_at="2014-06-03T09:12:44Z")
    assert post_event(client, old).status_code == 200  # newer than a clamped maximum
