"""``make demo``: the port it serves on, and what it prints at start (the admin login, the
webhook secret and a curl that posts a signed sample delivery, which works as printed).

``make demo`` itself serves until stopped, so its parts are tested: the Makefile's wiring
of ``PORT`` (``make -n``), the ``demo_admin`` command it runs, and the printed curl, run
by ``bash`` against the example site under ``runserver`` on a free port (stopped by pid).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import manage
from tests.stack import ROOT, Service, free_port, port_open, wait_for


def make_n(*args: str) -> list[str]:
    result = subprocess.run(
        ["make", "-n", "-s", "demo", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.splitlines()


def site_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    """The example site as ``make demo`` runs it, on its own SQLite file and port."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DEBUG": "true",
        "SECRET_KEY": "demo-test-secret-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "THINKIFIC_API_KEY": "demo-0123456789abcdef",
        "DEMO_ADMIN_USERNAME": "admin",
        "DEMO_ADMIN_PASSWORD": "demo-pw-7Hq",
        "DEMO_PORT": str(port),
        **extra,
    }


def printed_command(stdout: str) -> str:
    """The curl block demo_admin prints: from ``body=`` to the end."""
    start = stdout.index("\nbody=") + 1
    return stdout[start:]


def stored_events(env: dict[str, str]) -> list[tuple[str, str, str]]:
    path = env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT event_id, topic, status FROM django_thinkific_receivedevent"
        ).fetchall()


@pytest.mark.parametrize(("args", "port"), [((), "8000"), (("PORT=8001",), "8001")])
def test_make_demo_serves_on_port_and_every_step_knows_it(args, port):
    """``make demo PORT=8001`` serves on 8001; migrate, demo_admin (the printed URLs) and
    runserver (the fake API the site mounts on itself) all get the same port; 8000 by default."""
    lines = [line for line in make_n(*args) if "manage.py" in line]
    assert [line.split("manage.py ")[1].split()[0] for line in lines] == [
        "migrate",
        "demo_admin",
        "runserver",
    ]
    for line in lines:
        assert line.startswith(f"DEMO_PORT={port} "), line
    assert lines[-1].endswith(f"runserver 127.0.0.1:{port}")


def test_demo_admin_prints_the_login_the_secret_and_a_signed_curl(tmp_path):
    env = site_env(tmp_path, 8001)
    assert manage(env, "migrate", "--noinput").returncode == 0
    first, again = manage(env, "demo_admin"), manage(env, "demo_admin")
    assert first.returncode == again.returncode == 0, first.stderr[-600:]
    out = first.stdout
    assert "http://127.0.0.1:8001/admin/  user 'admin'  password 'demo-pw-7Hq'" in out
    assert "Webhook URL:     http://127.0.0.1:8001/thinkific/webhooks/" in out
    assert "Webhook secret:  demo-0123456789abcdef" in out
    # Each start prints the same login (from .env) and a fresh event to post.
    assert "password 'demo-pw-7Hq'" in again.stdout
    assert printed_command(out) != printed_command(again.stdout)
    login = manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import authenticate as a;"
        "u = a(username='admin', password='demo-pw-7Hq'); print(bool(u and u.is_superuser))",
    )
    assert login.stdout.strip().splitlines()[-1] == "True", login.stderr[-400:]


def test_demo_admin_without_a_password_makes_and_prints_a_random_one(tmp_path):
    env = site_env(tmp_path, 8000)
    del env["DEMO_ADMIN_PASSWORD"]
    assert manage(env, "migrate", "--noinput").returncode == 0
    result = manage(env, "demo_admin")
    assert result.returncode == 0, result.stderr[-400:]
    password = re.search(r"password '([^']+)'", result.stdout).group(1)
    assert len(password) >= 16


def test_the_printed_curl_posts_a_signed_delivery_the_demo_stores(tmp_path):
    """The command, run exactly as printed, against the demo serving on another port
    than 8000: HTTP 200 and one stored order.created event; run again, 200 and still one."""
    port = free_port()
    env = site_env(tmp_path, port)
    assert manage(env, "migrate", "--noinput").returncode == 0
    printed = manage(env, "demo_admin")
    assert printed.returncode == 0, printed.stderr[-400:]
    command = printed_command(printed.stdout)
    event_id = json.loads(re.search(r"^body='(.*)'$", command, re.M).group(1))["id"]

    server = Service(
        "runserver",
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        env,
        tmp_path,
    )
    try:
        wait_for(lambda: port_open(port), timeout=60, what="runserver", log=server.log)
        run = lambda: subprocess.run(  # noqa: E731
            ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=False
        )
        first = run()
        assert first.stdout.rstrip().endswith("HTTP 200"), first.stdout + first.stderr
        assert '"duplicate": false' in first.stdout
        assert stored_events(env) == [(event_id, "order.created", "processed")]
        again = run()
        assert again.stdout.rstrip().endswith("HTTP 200"), again.stdout + again.stderr
        assert '"duplicate": true' in again.stdout
        assert len(stored_events(env)) == 1
    finally:
        server.stop()
    assert not server.running()


def test_a_site_on_the_real_api_gets_a_curl_without_its_key(tmp_path):
    """Only the demo's own secret is printed: a site set up for the real Thinkific API
    (THINKIFIC_API_BASE_URL) gets a curl that reads the key from the environment."""
    env = site_env(
        tmp_path,
        8000,
        THINKIFIC_API_KEY="real-site-key-0f9e8d",
        THINKIFIC_API_BASE_URL="https://api.thinkific.com/api/v2",
    )
    assert manage(env, "migrate", "--noinput").returncode == 0
    result = manage(env, "demo_admin")
    assert result.returncode == 0, result.stderr[-400:]
    assert "real-site-key-0f9e8d" not in result.stdout + result.stderr
    assert "Webhook secret:  not printed" in result.stdout
    assert '-hmac "$THINKIFIC_WEBHOOK_SECRET"' in printed_command(result.stdout)


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_bad_port_is_one_clear_line(tmp_path, port):
    env = site_env(tmp_path, 8000, DEMO_PORT=port)
    result = manage(env, "demo_admin")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "The demo's port must be a number from 1 to 65535, not " in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("port", ["abc", "70000", "-1"])
def test_make_demo_with_a_bad_port_stops_at_the_port_line(tmp_path, port):
    """``make demo PORT=abc`` runs the Makefile's steps in order and stops at the first that
    fails: that one must be the port's line, not migrate's E005 about the fake API's URL
    (which the bad port made) before the port is ever judged."""
    env = site_env(tmp_path, 8000)
    for line in make_n(f"PORT={port}"):
        if "manage.py" not in line:
            continue
        assignment, _python, _manage, *args = line.split()
        assert assignment == f"DEMO_PORT={port}"
        if args[0] == "runserver":
            pytest.fail("make demo reached runserver with a bad port")
        result = manage({**env, "DEMO_PORT": port}, *args)
        if result.returncode:
            break
    assert "Traceback" not in result.stderr
    assert "E005" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"CommandError: The demo's port must be a number from 1 to 65535, not {port!r}."
        if port == "abc"
        else f"CommandError: The demo's port must be a number from 1 to 65535, not {port}."
    ]
