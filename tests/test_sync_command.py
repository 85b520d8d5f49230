"""``manage.py thinkific_sync`` as an operator runs it."""

import io
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_thinkific.models import Subscription
from tests.factories import SubscriptionFactory
from tests.helpers import TTY

pytestmark = pytest.mark.django_db


def test_success_prints_the_counts(fake_api):
    for i in range(30):
        fake_api.add_webhook("order.created", f"https://shop{i}.acme.io/h")
    SubscriptionFactory(thinkific_id="gone-remotely")
    out = io.StringIO()
    call_command("thinkific_sync", stdout=out)
    assert out.getvalue() == (
        "Synced 30 webhooks from Thinkific in 2 pages: 30 created, 0 updated, 1 removed.\n"
    )
    assert Subscription.objects.count() == 30


def test_progress_line_per_page_on_a_terminal(fake_api):
    for i in range(60):
        fake_api.add_webhook("order.created", f"https://shop{i}.acme.io/h")
    out = TTY()
    call_command("thinkific_sync", "--page-size", "25", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "page 1: 25 of 60 webhooks read",
        "page 2: 50 of 60 webhooks read",
        "page 3: 60 of 60 webhooks read",
    ]
    assert "60 created" in lines[3]


def test_refused_key_is_one_line_error_and_changes_nothing(fake_api):
    SubscriptionFactory()
    fake_api.fail_next(401, {"error": "Unauthorized"})
    with pytest.raises(CommandError) as info:
        call_command("thinkific_sync", stdout=io.StringIO())
    assert str(info.value) == "Thinkific refused the API key (401). Nothing was changed."
    assert Subscription.objects.count() == 1


def test_bad_page_size():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("thinkific_sync", "--page-size", "0")


def test_real_process_exit_code_and_stderr_without_traceback(tmp_path):
    """What an operator sees in a shell: exit status 1, one line on stderr."""
    env = {
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "SECRET_KEY": "x",
        "DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "THINKIFIC_API_KEY": "k",
        "THINKIFIC_API_BASE_URL": "http://127.0.0.1:9/api/v2",  # nothing listens on port 9
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], env=env, check=True, timeout=120
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "thinkific_sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "CommandError: Thinkific could not be reached at http://127.0.0.1:9/api/v2 "
        "(connection failed). Nothing was changed."
    )
    assert "Traceback" not in result.stderr
