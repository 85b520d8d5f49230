"""The bundled sample deliveries, one per known topic (``testing/payloads/``).

Used by the test helpers and by "send test event", which sends the same
realistic body Thinkific would.
"""

from __future__ import annotations

import copy
import json
import secrets
from functools import cache
from importlib import resources
from typing import Any

from django.utils import timezone

from .topics import TOPICS, split_topic

SAMPLE_SITE = "acme-academy"


def new_event_id() -> str:
    """A fresh 23-digit id in Thinkific's format (a timestamp and 9 random digits)."""
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    return f"{stamp}{secrets.randbelow(10**9):09d}"


@cache
def _bundled(topic: str) -> dict[str, Any]:
    path = resources.files(__package__) / "testing" / "payloads" / f"{topic}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def sample_event(topic: str, **overrides: Any) -> dict[str, Any]:
    """A realistic delivery envelope for ``topic``, with a fresh unique ``id``.

    ``created_at`` is now. Keyword arguments replace envelope keys (``id``,
    ``tenant_id``, ``created_at``, ...), except ``payload``, whose keys are merged into the
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
    # A new event happens now (the bundled samples keep their documentation's dates,
    # which a site with MAX_EVENT_AGE would refuse); pass created_at= for another date.
    event["created_at"] = timezone.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    payload_overrides = overrides.pop("payload", None)
    if payload_overrides is not None:
        if not isinstance(payload_overrides, dict):
            raise TypeError("payload= must be a dict")
        event["payload"].update(payload_overrides)
    event.update(overrides)
    return event
