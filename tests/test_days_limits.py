"""Day counts that reach past the calendar (issue 10, item 3: settings and commands).

A retention of a million days passed ``manage.py check``, then the admin's
event list and the prune crashed with ``OverflowError``. The limit is derived
from :mod:`django_thinkific.timestamps`: the cutoff, now minus the days, must
be a usable instant.
"""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_thinkific import tasks
from django_thinkific.timestamps import days_before, max_days_before
from tests.factories import ReceivedEventFactory
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
