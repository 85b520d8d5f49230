"""The documentation site (``docs/``, ``mkdocs.yml``): it builds strictly, its examples run,
and what it states of the code is checked against the code.

Every Python block of ``docs/*.md`` carries an ``<!-- example: NAME -->`` marker
(``tests/markdown_blocks.py``) and is run by the test of that name below.
"""

from __future__ import annotations

import ast
import io
import os
import re
import subprocess
import sys
import types
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import responses

from django_thinkific.models import ReceivedEvent, Subscription
from django_thinkific.services.subscriptions import _client_for
from django_thinkific.signals import WEBHOOK_SIGNALS, webhook_received
from django_thinkific.testing import post_event, sample_event
from django_thinkific.testing.fake_api import FakeThinkificAPI
from tests.markdown_blocks import DOCS, README, ROOT, blocks, doc_pages, examples

EXAMPLES = examples()
ALL_DOCS = "\n".join(p.read_text() for p in [README, *doc_pages()])


def run_example(name: str, module_name: str = "docs_example") -> dict:
    """Run an example as a module of its own; returns its namespace."""
    module = types.ModuleType(module_name)
    exec(compile(EXAMPLES[name].code, f"{EXAMPLES[name].source} ({name})", "exec"), module.__dict__)
    return module.__dict__


# --- the site and its blocks ----------------------------------------------------------------


def test_mkdocs_builds_the_site_strictly(tmp_path):
    """`make docs`: a broken link, anchor or include fails the build."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    security = (tmp_path / "security" / "index.html").read_text()
    assert "Reporting a vulnerability" in security  # SECURITY.md, included, not copied
    changelog = (tmp_path / "changelog" / "index.html").read_text()
    assert "Unreleased" in changelog
    started = (tmp_path / "getting-started" / "index.html").read_text()
    assert "startproject" in started
    assert "--8&lt;--" not in started


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in doc_pages():
        assert f": {page.name}" in nav, page.name


def test_every_python_block_of_the_docs_is_a_named_example():
    for page in doc_pages():
        for block in blocks(page):
            if block.lang == "python":
                assert block.example, f"{block.source}:{block.line} has no example marker"
    tested = {
        name.removeprefix("test_example_").replace("_", "-")
        for name in globals()
        if name.startswith("test_example_")
    }
    assert set(EXAMPLES) == tested


def test_every_block_parses():
    for page in [README, *doc_pages()]:
        for block in blocks(page):
            if block.lang == "python":
                compile(block.code, f"{block.source}:{block.line}", "exec")
            elif block.lang == "sh":
                subprocess.run(["bash", "-n"], input=block.code, text=True, check=True)


# --- what the pages say of the code ---------------------------------------------------------


def test_the_check_table_lists_every_check_sorted_by_id():
    table = re.findall(
        r"^\| `django_thinkific\.([EW]\d{3})`(?:, `([EW]\d{3})`)? \|", ALL_DOCS, re.M
    )
    documented = [i for row in table for i in row if i]
    code = "\n".join(
        (ROOT / "django_thinkific" / name).read_text() for name in ("checks.py", "conf.py")
    )
    assert set(documented) == set(re.findall(r'"([EW]\d{3})"', code))
    assert documented == sorted(documented, key=lambda i: (i[0] == "W", int(i[1:])))


def test_every_setting_key_is_documented():
    from django_thinkific.conf import DEFAULTS

    settings_page = (DOCS / "settings.md").read_text()
    for key in DEFAULTS:
        assert f"| `{key}` |" in settings_page, key


def test_every_management_command_is_documented():
    commands = ROOT / "django_thinkific/management/commands"
    for path in commands.glob("thinkific_*.py"):
        assert f"manage.py {path.stem}" in ALL_DOCS, path.stem


def test_the_beat_schedule_is_shown_once():
    assert ALL_DOCS.count("CELERY_BEAT_SCHEDULE = {") == 1


def test_no_page_names_a_file_users_do_not_have():
    assert "CONTRACT.md" not in ALL_DOCS


@pytest.mark.django_db
def test_received_events_can_be_deleted_in_the_admin_as_the_admin_page_says(admin_client, client):
    event = sample_event("lesson.completed")
    post_event(client, event)
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    page = admin_client.get(f"/admin/django_thinkific/receivedevent/{stored.pk}/change/")
    assert f"/admin/django_thinkific/receivedevent/{stored.pk}/delete/" in page.content.decode()
    assert admin_client.get("/admin/django_thinkific/receivedevent/add/").status_code == 403
    listing = admin_client.get("/admin/django_thinkific/receivedevent/")
    assert "Delete selected received events" in listing.content.decode()
    admin_client.post(
        "/admin/django_thinkific/receivedevent/",
        {"action": "delete_selected", "_selected_action": [stored.pk], "post": "yes"},
    )
    assert not ReceivedEvent.objects.exists()
    # "A deleted event leaves no tombstone": delivered again, it is a new event.
    again = post_event(client, event)
    assert again.json() == {"id": event["id"], "status": "processed", "duplicate": False}


# --- the examples, each run ------------------------------------------------------------------


@pytest.mark.django_db
def test_example_receivers(client, caplog):
    namespace = run_example("receivers", "shop.receivers")
    try:
        with caplog.at_level("INFO", logger="shop"):
            event = sample_event("lesson.completed")
            assert post_event(client, event).status_code == 200
    finally:
        for topic in ("enrollment.completed", "lesson.completed"):
            assert WEBHOOK_SIGNALS[topic].disconnect(namespace["track_progress"])
        assert webhook_received.disconnect(namespace["log_every_event"])
    assert sorted(caplog.messages) == [
        f"event {event['id']}: lesson.completed",
        "lesson.completed by user 1873342",
    ]
    assert ReceivedEvent.objects.get(event_id=event["id"]).status == "processed"


@pytest.mark.parametrize(
    "name", ["test_a_retry_runs_nothing_twice", "test_a_wrong_signature_is_refused"]
)
@pytest.mark.django_db
def test_example_receiver_tests(name, client):
    namespace = run_example("receiver-tests")
    namespace[name](client)


@pytest.fixture
def readme_site(settings):
    """A site configured as the README says: only API_KEY, so API_BASE_URL is the default."""
    settings.THINKIFIC = {"API_KEY": "readme-key"}
    _client_for.cache_clear()
    yield settings
    _client_for.cache_clear()


def test_example_fake_api(db, readme_site):
    namespace = run_example("fake-api")
    namespace["test_sync_mirrors_thinkific"](db, readme_site)


@pytest.mark.django_db
def test_example_services(readme_site):
    fake = FakeThinkificAPI(api_key="readme-key")
    out = io.StringIO()
    with responses.RequestsMock() as mock, redirect_stdout(out):
        fake.mount(mock)
        run_example("services")
    printed = out.getvalue().splitlines()
    assert printed[0].startswith("Synced 1 webhook from Thinkific in 1 page: 0 created")
    assert printed[1].startswith("{'target_url': [")  # the refused http URL, by field
    assert not Subscription.objects.exists()  # created, changed, then deleted
    assert not fake.webhooks


@pytest.mark.django_db
def test_example_rest_permission_class(staff_api, settings, monkeypatch):
    package = types.ModuleType("myproject")
    permissions = types.ModuleType("myproject.permissions")
    exec(EXAMPLES["rest-permission-class"].code, permissions.__dict__)
    monkeypatch.setitem(sys.modules, "myproject", package)
    monkeypatch.setitem(sys.modules, "myproject.permissions", permissions)
    configured = run_example("rest-permission-setting")["THINKIFIC"]
    settings.THINKIFIC = {**settings.THINKIFIC, **configured}
    assert staff_api.get("/thinkific/api/events/").status_code == 200
    assert staff_api.post("/thinkific/api/subscriptions/sync/").status_code == 403


def test_example_rest_permission_setting(settings):
    """The setting names importable classes, so `manage.py check` passes it (no E009)."""
    from django.core import checks

    configured = run_example("rest-permission-setting")["THINKIFIC"]
    configured["REST_PERMISSION_CLASSES"][-1] = "rest_framework.permissions.IsAuthenticated"
    settings.THINKIFIC = {**settings.THINKIFIC, **configured}
    ids = {m.id for m in checks.run_checks(tags=["django_thinkific"])}
    assert "django_thinkific.E009" not in ids


@pytest.mark.celery  # the schedule imports celery.schedules
def test_example_beat_schedule(monkeypatch):
    """The docs' schedule is the example project's, and names registered tasks."""
    import importlib

    from django_thinkific import tasks

    schedule = run_example("beat-schedule")["CELERY_BEAT_SCHEDULE"]
    monkeypatch.setenv("SECRET_KEY", "docs-test")
    example = importlib.import_module("example_project.settings")
    assert schedule == example.CELERY_BEAT_SCHEDULE
    assert {entry["task"] for entry in schedule.values()} == {
        tasks.prune_received_events.name,
        tasks.recover_pending_events.name,
    }
    assert schedule["thinkific-prune-received-events"]["schedule"].hour == {3}


@pytest.mark.celery  # the schedule imports celery.schedules
def test_example_django_celery_beat():
    """django-celery-beat is not a dependency, so this block is read, not run: it imports
    only that package and creates the beat schedule's entries, by name and task."""
    tree = ast.parse(EXAMPLES["django-celery-beat"].code)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom | ast.Import)]
    assert [getattr(n, "module", None) for n in imports] == ["django_celery_beat.models"]
    created = {}
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "update_or_create":
            kw = {k.arg: k.value for k in call.keywords}
            task = next(
                v.value
                for k, v in zip(kw["defaults"].keys, kw["defaults"].values, strict=True)
                if k.value == "task"
            )
            created[kw["name"].value] = task
    schedule = run_example("beat-schedule")["CELERY_BEAT_SCHEDULE"]
    assert created == {name: entry["task"] for name, entry in schedule.items()}


def test_example_databases():
    from django.db.utils import ConnectionHandler

    databases = run_example("databases")["DATABASES"]
    known = set(
        ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3"}}).settings["default"]
    )
    assert set(databases["default"]) <= known
    configured = ConnectionHandler(databases).settings["default"]
    assert configured["CONN_MAX_AGE"] == 600
    assert configured["CONN_HEALTH_CHECKS"] is True


@pytest.mark.django_db(transaction=True)
def test_example_signed_delivery(live_server, settings, tmp_path):
    """The curl + openssl block, run as written against a live server, from a
    directory whose `.env` holds the key as `make demo` writes it."""
    (tmp_path / ".env").write_text(
        f"DEBUG=true\nTHINKIFIC_API_KEY={settings.THINKIFIC['API_KEY']}\n"
    )
    code = EXAMPLES["signed-delivery"].code
    assert code.count("http://127.0.0.1:8000/") == 1
    code = code.replace("http://127.0.0.1:8000/", f"{live_server.url}/")

    def run() -> str:
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", code],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout

    documented = re.search(r"^# (\{.*\})$", EXAMPLES["signed-delivery"].code, re.M).group(1)
    assert run().strip() == documented
    assert '"duplicate": true' in run()
    event = ReceivedEvent.objects.get(event_id="20240501120000000000001")
    assert event.topic == "order.created"
    assert event.payload["user"] == {"email": "ada@example.com"}
    (tmp_path / ".env").write_text("THINKIFIC_API_KEY=not-the-key\n")
    assert '"error"' in run()
    assert ReceivedEvent.objects.count() == 1


def test_docs_dir_holds_only_pages():
    assert {p.suffix for p in Path(DOCS).iterdir()} == {".md"}
