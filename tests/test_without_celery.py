"""Celery is an extra (``pip install 'django-thinkific[celery]'``): without it a site with
``DISPATCH = "sync"`` installs, passes its checks, migrates, receives signed deliveries and
prunes; ``DISPATCH = "celery"`` is system check E004, one line, not an ImportError later.

Proved on the real thing: the wheel, built from this checkout, installed into a fresh venv
without the extra (pip resolves only Django, DRF and requests), running the example site.
Where Celery is installed (the dev extra), the app registers its tasks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from django_thinkific.samples import sample_event
from tests.stack import ROOT, Service, free_port, port_open, wait_for

KEY = "nocelery-webhook-key"


class Site:
    """The example project, run by a venv holding the wheel and django-environ only."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.python = str(work / "venv" / "bin" / "python")
        self.dir = work / "site"
        self.db = work / "site.sqlite3"

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": f"{self.work / 'venv' / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.work),
            "SECRET_KEY": "nocelery-secret-key",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "THINKIFIC_API_KEY": KEY,
            "THINKIFIC_DISPATCH": "sync",
            "DATABASE_URL": f"sqlite:///{self.db}",
            **extra,
        }

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.python, str(self.dir / "manage.py"), *args],
            cwd=self.dir,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    work = tmp_path_factory.mktemp("nocelery")
    run = lambda *args: subprocess.run(args, check=True, timeout=300, capture_output=True)  # noqa: E731
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(work / "dist"), ROOT)
    (wheel,) = (work / "dist").glob("django_thinkific-*.whl")
    run(sys.executable, "-m", "venv", str(work / "venv"))
    built = Site(work)
    run(built.python, "-m", "pip", "install", "-q", str(wheel), "django-environ")
    (built.dir).mkdir()
    shutil.copytree(ROOT / "example_project", built.dir / "example_project")
    shutil.copy(ROOT / "manage.py", built.dir / "manage.py")
    return built


def test_the_wheel_installs_without_celery(site):
    probe = subprocess.run(
        [site.python, "-c", "import django_thinkific, celery"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "No module named 'celery'" in probe.stderr
    assert (
        "kombu"
        not in subprocess.run(
            [site.python, "-m", "pip", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )


def test_check_and_migrate_pass_without_celery(site):
    check = site.manage("check", "--fail-level", "WARNING")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no issues" in check.stdout
    migrate = site.manage("migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr[-800:]


def test_a_signed_delivery_is_stored_and_processed_without_celery(site):
    assert site.manage("migrate", "--noinput").returncode == 0
    port = free_port()
    server = Service(
        "runserver-nocelery",
        [site.python, str(site.dir / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"],
        site.env(),
        site.work,
    )
    event = sample_event("order.created")
    body = json.dumps(event).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/thinkific/webhooks/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Thinkific-Topic": "order.created",
            "X-Thinkific-Hmac-Sha256": hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest(),
        },
    )
    try:
        wait_for(lambda: port_open(port), timeout=60, what="runserver", log=server.log)
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310 (loopback)
            assert answer.status == 200
            assert json.loads(answer.read())["status"] == "processed"
    finally:
        server.stop()
    assert "Traceback" not in server.log_text()
    with sqlite3.connect(site.db) as db:
        rows = db.execute("SELECT event_id, topic, status FROM django_thinkific_receivedevent")
        assert (event["id"], "order.created", "processed") in rows.fetchall()


def test_prune_and_recover_run_without_celery(site):
    """An event received long ago (its date moved back in the database) is pruned."""
    assert site.manage("migrate", "--noinput").returncode == 0
    moved = site.manage(
        "shell",
        "-c",
        "from datetime import datetime, timezone; from django_thinkific.models import "
        "ReceivedEvent as E; E.objects.create(event_id='1', topic='order.created', "
        "resource='order', action='created', payload={}, status='processed'); "
        "E.objects.update(received_at=datetime(2000, 1, 1, tzinfo=timezone.utc)); "
        "print('old', E.objects.count())",
    )
    old = int(moved.stdout.split("old ")[-1])
    prune = site.manage("thinkific_prune")
    assert prune.returncode == 0, prune.stderr[-800:]
    assert f"Deleted {old} received events older than 30 days" in prune.stdout, prune.stdout
    recover = site.manage("thinkific_recover_pending")
    assert recover.returncode == 0, recover.stderr[-800:]


def test_dispatch_celery_without_celery_is_check_e004(site):
    check = site.manage("check", THINKIFIC_DISPATCH="celery")
    assert check.returncode == 1
    assert "Traceback" not in check.stderr
    assert (
        "(django_thinkific.E004) THINKIFIC['DISPATCH'] is 'celery', but Celery is not "
        "installed: pip install 'django-thinkific[celery]', or set DISPATCH = 'sync'."
    ) in check.stderr


def test_importing_the_tasks_without_celery_says_what_to_install(site):
    result = site.manage("shell", "-c", "import django_thinkific.tasks")
    assert result.returncode == 1
    assert (
        "ImportError: django_thinkific.tasks needs Celery: pip install 'django-thinkific[celery]'"
    ) in result.stderr


@pytest.mark.celery
def test_where_celery_is_installed_the_app_registers_its_tasks():
    from celery import current_app

    registered = set(current_app.tasks)
    assert {
        "django_thinkific.process_event",
        "django_thinkific.recover_pending_events",
        "django_thinkific.prune_received_events",
    } <= registered
