"""Small helpers the test modules share: raw deliveries, HTTP Basic, waiting for a worker.

Fixtures live in ``tests/conftest.py``; model and user builders in ``tests/factories.py``.
"""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import sign
from tests.settings import API_KEY

#: The webhook endpoint as the test site mounts it.
WEBHOOK_URL = "/thinkific/webhooks/"


def raw_post(client: Any, body: bytes, signature: str | None = None, **extra: Any) -> Any:
    """POST ``body`` to the webhook exactly as given; ``signature`` is sent as
    ``X-Thinkific-Hmac-Sha256`` when given (none: an unsigned delivery)."""
    if signature is not None:
        extra["HTTP_X_THINKIFIC_HMAC_SHA256"] = signature
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", **extra)


def signed_post(client: Any, body: bytes, **extra: Any) -> Any:
    """POST ``body`` exactly as given, signed with the test site's API key."""
    return raw_post(client, body, sign(body, API_KEY), **extra)


def basic(username: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def rows(ids: list[str]) -> dict[str, ReceivedEvent]:
    """The stored events of ``ids`` by event id (one row each: ``event_id`` is unique)."""
    found = list(ReceivedEvent.objects.filter(event_id__in=ids))
    assert len(found) == len({e.event_id for e in found})
    return {e.event_id: e for e in found}


def wait_until_processed(ids: list[str], *, timeout: float = 60) -> dict[str, ReceivedEvent]:
    """Poll until every event of ``ids`` is stored and processed (by a worker elsewhere)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = rows(ids)
        processed = {ReceivedEvent.Status.PROCESSED}
        if len(found) == len(ids) and {e.status for e in found.values()} == processed:
            return found
        time.sleep(0.2)
    statuses = {i: e.status for i, e in rows(ids).items()}
    raise AssertionError(f"not all {len(ids)} processed after {timeout}s: {statuses}")


def app_checks() -> list:
    """The app's system-check messages for the current settings (every tag)."""
    from django.core import checks

    return [m for m in checks.run_checks() if (m.id or "").startswith("django_thinkific.")]


def app_check_ids() -> set[str]:
    """The ids of :func:`app_checks`."""
    return {m.id for m in app_checks()}


class TTY(io.StringIO):
    """A command's stdout that says it is a terminal (commands colour and word it so)."""

    def isatty(self):
        return True


ROOT = Path(__file__).resolve().parent.parent


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``manage.py ARGS`` of the example site in a subprocess with ``env``, its output kept."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
