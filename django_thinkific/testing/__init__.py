"""Helpers for testing a site's own receivers (and this app's).

::

    from django_thinkific.testing import post_event, sample_event

    def test_order_grants_access(client):
        response = post_event(client, sample_event("order.created", payload={"amount_cents": 100}))
        assert response.status_code == 200
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.urls import reverse

from ..conf import get_settings
from ..models import ReceivedEvent
from ..samples import SAMPLE_SITE, new_event_id, sample_event
from ..services import commit_hooks
from ..signals import signal_for, webhook_received
from ..signing import compute_signature

logger = logging.getLogger("django_thinkific.testing")

__all__ = ["Captured", "capture_events", "new_event_id", "post_event", "sample_event", "sign"]


def sign(body: bytes, secret: str) -> str:
    """The ``X-Thinkific-Hmac-Sha256`` value Thinkific would send for ``body``."""
    return compute_signature(body, secret)


def post_event(
    client: Any,
    topic_or_event: str | dict[str, Any] | bytes,
    *,
    secret: str | None = None,
    path: str | None = None,
    site: str = SAMPLE_SITE,
    **extra: Any,
) -> Any:
    """POST a signed delivery through a Django (or DRF) test client; return the response.

    ``topic_or_event`` is a topic name (a fresh sample is used), an envelope
    dict, or raw bytes sent as they are. ``secret`` defaults to the first of
    ``THINKIFIC['WEBHOOK_SECRETS']``; ``path`` to the app's webhook URL.
    Extra keyword arguments go to ``client.post`` (e.g. ``HTTP_X_...`` headers).
    """
    if isinstance(topic_or_event, str):
        topic_or_event = sample_event(topic_or_event)
    if isinstance(topic_or_event, bytes):
        body = topic_or_event
        header_topic = ""
    else:
        body = json.dumps(topic_or_event).encode("utf-8")
        header_topic = f"{topic_or_event.get('resource')}.{topic_or_event.get('action')}"
    if secret is None:
        configured = get_settings().webhook_secrets
        if not configured:
            raise ValueError("post_event() needs secret=: THINKIFIC has no webhook secret")
        secret = configured[0]
    headers = {
        "HTTP_X_THINKIFIC_HMAC_SHA256": sign(body, secret),
        "HTTP_X_THINKIFIC_TOPIC": header_topic,
        "HTTP_X_THINKIFIC_SUBDOMAIN": site,
        **extra,
    }
    connection = connections[router.db_for_write(ReceivedEvent)]
    in_test_transaction = connection.in_atomic_block
    start = len(connection.run_on_commit)
    response = client.post(
        path or reverse("django_thinkific:webhook"),
        data=body,
        content_type="application/json",
        **headers,
    )
    if in_test_transaction:
        # Inside a test's transaction nothing commits, so what the delivery queued
        # with on_commit (the Celery task, your receivers' mails) would never run:
        # run it as the commit would have, failures logged, never raised.
        for failure in commit_hooks.run_queued_since(connection, start):
            logger.error("An on-commit callback of a test delivery raised:\n%s", failure)
    return response


@dataclass(frozen=True)
class Captured:
    """One signal call recorded by :func:`capture_events`."""

    topic: str
    event: Any
    payload: dict[str, Any]


@contextmanager
def capture_events(*topics: str) -> Iterator[list[Captured]]:
    """Record the signal calls made while the block runs.

    With topic names, records those topics' signals; with none, records
    ``webhook_received`` (every event)::

        with capture_events("order.created") as calls:
            post_event(client, "order.created")
        assert calls[0].payload["amount_cents"] == 5000
    """
    calls: list[Captured] = []

    def record(sender: Any, event: Any, topic: str, payload: dict[str, Any], **kw: Any) -> None:
        calls.append(Captured(topic=topic, event=event, payload=payload))

    chosen = []
    for topic in topics:
        signal = signal_for(topic)
        if signal is None:
            raise ValueError(f"Unknown Thinkific topic {topic!r}; capture_events() records all")
        chosen.append(signal)
    chosen = chosen or [webhook_received]
    for signal in chosen:
        signal.connect(record, weak=False)
    try:
        yield calls
    finally:
        for signal in chosen:
            signal.disconnect(record)
