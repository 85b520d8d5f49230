"""Odd values in the settings table and in the example project's environment are
reported (a check, a one-line error), never a crash or a silent default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

from tests.helpers import manage

ROOT = Path(__file__).resolve().parent.parent


def _ids(messages):
    return {m.id for m in messages if m.id and m.id.startswith("django_thinkific.")}


@pytest.mark.django_db
def test_an_empty_permission_list_is_reported_and_still_needs_credentials(client, thinkific):
    """README: "By default a request needs a staff user"; REST_PERMISSION_CLASSES
    "replaces the permission classes" and ``manage.py check`` "reports any THINKIFIC
    setting that is missing or malformed". ``[]`` (e.g. ``env.list(..., default=[])``)
    passes the check and opens the staff API, payloads included, to anonymous callers."""
    from tests.factories import ReceivedEventFactory

    thinkific(REST_PERMISSION_CLASSES=[])
    event = ReceivedEventFactory(payload={"user": {"email": "buyer@example.io"}})
    assert "django_thinkific.E009" in _ids(run_checks())
    response = client.get(f"/thinkific/api/events/{event.pk}/")
    assert response.status_code in (401, 403), response.content  # the default still guards
    assert b"buyer@example.io" not in response.content


def _example_check(**env_vars):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "true",
        **env_vars,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("THINKIFIC_EVENT_RETENTION_DAYS", "", "E003"),
        ("THINKIFIC_EVENT_RETENTION_DAYS", "30d", "E003"),
        ("THINKIFIC_PROCESSING_TIMEOUT", "5m", "E007"),
    ],
)
def test_the_example_site_reports_a_malformed_integer_instead_of_crashing(name, value, check_id):
    """CONTRACT/README: missing or malformed settings are reported by system checks
    "not by a crash at import"; "a malformed one is reported and taken as its default".
    The example site turns these variables into ints with ``env.int`` while importing
    its settings, so a typo in .env is a ValueError traceback from every manage.py
    command (and the web process) instead of a check message."""
    result = _example_check(**{name: value})
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-800:]
    assert f"django_thinkific.{check_id}" in output


def test_demo_admin_makes_a_random_password_when_none_is_set(tmp_path):
    """README (example project table): ``DEMO_ADMIN_USERNAME``, ``DEMO_ADMIN_PASSWORD``:
    "the login make demo creates", default "admin, random". Without the variable (an
    existing .env written by hand, e.g. to set THINKIFIC_API_KEY as the README suggests,
    keeps ``make demo`` from writing its own) the command refuses instead."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "THINKIFIC_API_KEY": "demo-key",
    }
    assert manage(env, "migrate", "--noinput").returncode == 0
    result = manage(env, "demo_admin")
    assert result.returncode == 0, result.stderr[-400:]
    assert "password" in result.stdout


def _example_database(**env_vars):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "true",
        **env_vars,
    }
    code = (
        "import json; from django.conf import settings; d = settings.DATABASES['default'];"
        "print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS']]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-800:]
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_example_site_keeps_its_database_connections_by_default():
    """docs/deployment.md: the example ships persistent connections, checked before reuse
    (a connection per delivery cost the receiver 5x its throughput in bench/README.md)."""
    assert _example_database() == [600, True]
    assert _example_database(DATABASE_URL="sqlite:///x.db?conn_max_age=7") == [7, True]
    assert _example_database(CONN_MAX_AGE="0", CONN_HEALTH_CHECKS="false") == [0, False]
    assert _example_database(CONN_MAX_AGE="30", DATABASE_URL="sqlite:///x.db?conn_max_age=7") == [
        30,
        True,
    ]


@pytest.mark.parametrize("value", ["10m", "-1", "٣"])
def test_a_malformed_conn_max_age_is_a_check_error_not_a_traceback(value):
    result = _example_check(CONN_MAX_AGE=value)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output[-800:]
    assert "shop.E001" in output
    assert "is not a whole number of seconds" in output
    assert _example_database(CONN_MAX_AGE=value) == [0, True]
