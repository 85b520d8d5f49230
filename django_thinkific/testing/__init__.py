"""Helpers for testing a site's own receivers (and this app's).

::

    from django_thinkific.testing import post_event, sample_event

    def test_order_grants_access(client):
        response = post_event(client, sample_event("order.created", payload={"amount_cents": 100}))
        assert response.status_code == 200
"""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from django.urls import reverse
from django.utils import timezone

from ..conf import get_settings
from ..signals import signal_for, webhook_received
from ..signing import compute_signature
from ..topics import TOPICS, split_topic

__all__ = ["Captured", "capture_events", "new_event_id", "post_event", "sample_event", "sign"]

SAMPLE_SITE = "acme-academy"


def sign(body: bytes, secret: str) -> str:
    """The ``X-Thinkific-Hmac-Sha256`` value Thinkific would send for ``body``."""
    return compute_signature(body, secret)


def new_event_id() -> str:
    """A fresh 23-digit id in Thinkific's format (a timestamp and 9 random digits)."""
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    return f"{stamp}{secrets.randbelow(10**9):09d}"


@cache
def _bundled(topic: str) -> dict[str, Any]:
    path = resources.files(__package__).joinpath("payloads", f"{topic}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def sample_event(topic: str, **overrides: Any) -> dict[str, Any]:
    """A realistic delivery envelope for ``topic``, with a fresh unique ``id``.

    Keyword arguments replace envelope keys (``id``, ``tenant_id``,
    ``created_at``, ...), except ``payload``, whose keys are merged into the
    sample's payload so a test states only what it cares about. A topic with
    no bundled sample (one Thinkific added later) needs ``payload=``.
    """
    if topic in TOPICS:
        event = copy.deepcopy(_bundled(topic))
    elif "payload" in overrides:
        resource, action = split_topic(topic)
        event = {
            "id": "",
            "resource": resource,
            "action": action,
            "tenant_id": "3",
            "created_at": timezone.now().isoformat().replace("+00:00", "Z"),
            "payload": {},
        }
    else:
        raise ValueError(
            f"No sample for unknown topic {topic!r}: pass payload={{...}} to build one"
        )
    event["id"] = new_event_id()
    payload_overrides = overrides.pop("payload", None)
    if payload_overrides is not None:
        if not isinstance(payload_overrides, dict):
            raise TypeError("payload= must be a dict")
        event["payload"].update(payload_overrides)
    event.update(overrides)
    return event


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
    return client.post(
        path or reverse("django_thinkific:webhook"),
        data=body,
        content_type="application/json",
        **headers,
    )


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
