"""Settings at their limits: what ``manage.py check`` accepts works, and what cannot
work is reported by a check, never by a crash.

CONTRACT: "Missing or malformed settings are reported by Django system checks
(`manage.py check`) ..., not by a crash". Day counts (retention, ``--days``) may not
reach past the calendar: the limit is derived from :mod:`django_thinkific.timestamps`
(the cutoff, now minus the days, must be a usable instant). Timeouts and ages
(``PROCESSING_TIMEOUT``, ``MAX_EVENT_AGE``) that pass their check must not make
receiving, processing or the sweep fail with ``OverflowError``.
"""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from django_thinkific import tasks
from django_thinkific.checks import check_settings
from django_thinkific.models import ReceivedEvent
from django_thinkific.signals import order_created, webhook_received
from django_thinkific.testing import post_event, sample_event
from django_thinkific.timestamps import days_before, max_days_before
from tests.factories import ReceivedEventFactory
from tests.helpers import app_checks
from tests.test_checks import VALID, run_check

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
TOO_MANY = [800_000, 10**9, 10**12, 10**30]


def test_max_days_before_is_the_last_usable_cutoff():
    now = timezone.now()
    most = max_days_before(now)
    assert 700_000 < most < 800_000
    assert days_before(now, most) is not None
    assert days_before(now, most + 1) is None


@pytest.mark.parametrize("days", TOO_MANY)
def test_a_retention_past_the_calendar_is_e003(settings, days):
    settings.THINKIFIC = {**VALID, "EVENT_RETENTION_DAYS": days, "REPLAY_WINDOW_DAYS": days}
    found, text = run_check()
    assert found == {"django_thinkific.E003", "django_thinkific.E012"}
    assert "EVENT_RETENTION_DAYS" in text
    assert f"at most {max_days_before(timezone.now())}" in text


def test_the_longest_usable_retention_passes(settings):
    most = max_days_before(timezone.now()) - 1
    settings.THINKIFIC = {**VALID, "EVENT_RETENTION_DAYS": most, "REPLAY_WINDOW_DAYS": most}
    assert run_check()[0] == set()


@pytest.mark.parametrize("days", [*TOO_MANY, 100_000])
def test_with_a_huge_retention_the_event_list_and_the_prune_still_work(
    admin_client, thinkific, days
):
    thinkific(EVENT_RETENTION_DAYS=days)
    ReceivedEventFactory(received_at=timezone.now() - timedelta(days=400))
    response = admin_client.get("/admin/django_thinkific/receivedevent/")
    assert response.status_code == 200
    assert response.context["chart"]["days"] == 366  # a year of bars, not one per day kept
    assert tasks.prune_received_events.apply().get() == 0  # keep everything: nothing to prune


@pytest.mark.parametrize("days", [str(d) for d in TOO_MANY])
def test_prune_days_past_the_calendar_is_a_one_line_error(days):
    ReceivedEventFactory()
    with pytest.raises(CommandError, match=r"^--days must be at most \d+ ") as caught:
        call_command("thinkific_prune", "--days", days)
    assert "\n" not in str(caught.value)


def test_prune_days_past_the_calendar_from_the_shell(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "thinkific_prune", "--days", "99999999999", "--dry-run"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SECRET_KEY": "x",
            "THINKIFIC_API_KEY": "k",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("CommandError: --days must be at most")
    assert len(result.stderr.strip().splitlines()) == 1


# --- timeouts, ages and time zones that pass a check must not break deliveries ------------


@pytest.fixture
def a_receiver(connect):
    calls = []
    connect(webhook_received, lambda **kw: calls.append(kw), sender=ReceivedEvent)
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_processing_timeout_that_passes_e007_does_not_break_redeliveries(
    client, thinkific, a_receiver
):
    # 10**12 seconds is a positive integer, so E007 says nothing; every retry of a
    # failed event (and the recovery sweep) then computes now - 10**12 s: OverflowError.
    thinkific(PROCESSING_TIMEOUT=10**12)
    event = sample_event("order.created")
    assert post_event(client, event).status_code == 200
    ReceivedEvent.objects.update(status=ReceivedEvent.Status.FAILED)
    assert "django_thinkific.E007" in {m.id for m in app_checks()}  # reported ...
    response = post_event(client, event)  # ... and meanwhile taken as the longest it can be
    assert response.status_code == 200
    assert ReceivedEvent.objects.get().status == ReceivedEvent.Status.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_a_processing_timeout_that_passes_e007_does_not_break_the_sweep(thinkific):
    from django.core.management import call_command

    thinkific(PROCESSING_TIMEOUT=10**12)
    assert "django_thinkific.E007" in {m.id for m in app_checks()}
    call_command("thinkific_recover_pending", stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)
def test_a_site_without_time_zone_support_is_told():
    # Django 4.2 (supported) defaults to USE_TZ = False. Every delivery carrying a
    # created_at then answers 500 (aware vs naive comparison), and no check says why.
    with override_settings(USE_TZ=False):
        errors = app_checks()
    assert [m.id for m in errors] == ["django_thinkific.E015"]
    assert "USE_TZ = True" in errors[0].msg


@pytest.mark.django_db(transaction=True)
def test_a_max_event_age_that_passes_e013_does_not_break_deliveries(client, thinkific):
    # "Refuse replays older than a million days" is a positive integer: E013 is silent,
    # and every delivery carrying a created_at then computes now - 10**6 days: a 500.
    thinkific(MAX_EVENT_AGE=1_000_000)
    assert "django_thinkific.E013" in {m.id for m in app_checks()}
    response = post_event(client, "order.created")
    assert response.status_code == 200
    old = sample_event("enrollment.completed", created_at="2014-06-03T09:12:44Z")
    assert post_event(client, old).status_code == 200  # newer than a clamped maximum


# --- huge MAX_EVENT_AGE and PROCESSING_TIMEOUT: reported, or harmless ---------------------


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


# --- API_TIMEOUT: any number, however large, is judged, never a crash ----------------------


@pytest.mark.parametrize(
    "timeout", [10**400, -(10**400), 2**1024], ids=["1e400", "-1e400", "2**1024"]
)
def test_an_api_timeout_too_large_for_a_float_is_e008_not_a_crash(
    thinkific, staff_api, fake_api, timeout
):
    """README: E008 for "API_TIMEOUT is not a positive number of seconds, at most 86400";
    a malformed value "is reported and taken as its default". An integer past a float's
    range made ``math.isfinite`` raise OverflowError: ``manage.py check`` crashed, and so
    did every API call (the sync answered 500)."""
    thinkific(API_TIMEOUT=timeout)
    found, _ = run_check()
    assert found == {"django_thinkific.E008"}
    from django_thinkific.conf import get_settings

    assert get_settings().api_timeout == 10.0
    response = staff_api.post("/thinkific/api/subscriptions/sync/")
    assert response.status_code == 200, response.content


KEYS_SHOWN_IN_MESSAGES = [
    ("EVENT_RETENTION_DAYS", "E003"),
    ("MAX_BODY_SIZE", "E006"),
    ("DISPATCH", "E004"),
    ("CLIENT_IP_HEADER", "E011"),
    ("API_ENABLED", "E016"),
    ("API_BASE_URL", "E005"),
    ("REST_PERMISSION_CLASSES", "E009"),
]


@pytest.mark.parametrize(("key", "check_id"), KEYS_SHOWN_IN_MESSAGES)
def test_a_value_too_long_to_print_is_reported_not_a_crash(thinkific, key, check_id):
    """Each message quotes the value it refuses; an integer past Python's 4,300-digit
    conversion limit cannot be ``repr``-ed (ValueError), which crashed ``manage.py check``."""
    thinkific(**{key: 10**5000})
    found, text = run_check()
    assert f"django_thinkific.{check_id}" in found
    assert len(text) < 5000  # quoted in short


def test_a_long_value_is_quoted_in_short(thinkific):
    thinkific(DISPATCH="x" * 100_000)
    found, text = run_check()
    assert found == {"django_thinkific.E004"}
    assert len(text) < 2000
