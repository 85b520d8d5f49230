"""Parsing and validating a delivery's JSON envelope.

Everything a database could refuse is refused here with a clear 400 reason,
so that a storage error always means the database is unwell (503, retried)
and never that the input was bad (which a retry could not fix).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django.utils.dateparse import parse_datetime

MAX_ID_LENGTH = 64
MAX_PART_LENGTH = 50
MAX_TENANT_LENGTH = 64
MAX_JSON_DEPTH = 64


class EnvelopeError(ValueError):
    """The body is not an acceptable Thinkific envelope; the message says why."""


@dataclass(frozen=True)
class Envelope:
    event_id: str
    resource: str
    action: str
    tenant_id: str
    created_at: datetime | None
    payload: dict[str, Any]

    @property
    def topic(self) -> str:
        return f"{self.resource}.{self.action}"


def _finite_float(text: str) -> float:
    # 1e400 parses to inf: as unstorable as the literal Infinity.
    value = float(text)
    if not math.isfinite(value):
        raise EnvelopeError(f"body is not valid JSON (the number {text[:20]} is out of range)")
    return value


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON and PostgreSQL's jsonb refuses them.
    raise EnvelopeError(f"body is not valid JSON ({name} is not allowed)")


def _scalar(data: dict[str, Any], key: str, max_length: int, *, required: bool) -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise EnvelopeError(f"'{key}' is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise EnvelopeError(f"'{key}' must be a string or a number")
    text = str(value)
    if required and not text.strip():
        raise EnvelopeError(f"'{key}' must not be empty")
    if len(text) > max_length:
        raise EnvelopeError(f"'{key}' is longer than {max_length} characters")
    _check_text(text, key)
    return text


def _check_text(text: str, where: str) -> None:
    # PostgreSQL text and jsonb cannot hold NUL or lone surrogates.
    if "\x00" in text:
        raise EnvelopeError(f"{where} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise EnvelopeError(f"{where} contains an unpaired surrogate") from None


def _check_storable(value: Any) -> None:
    """Depth and character checks over the whole document, without recursion."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise EnvelopeError(f"body is nested deeper than {MAX_JSON_DEPTH} levels")
            for key, child in item.items():
                _check_text(key, "a key")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise EnvelopeError(f"body is nested deeper than {MAX_JSON_DEPTH} levels")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str):
            _check_text(item, "a string")


def _created_at(data: dict[str, Any]) -> datetime | None:
    value = data.get("created_at")
    if value is None:
        return None
    if not isinstance(value, str):
        raise EnvelopeError("'created_at' must be a string")
    # An unreadable timestamp is no reason to lose the event: keep it without one.
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt_timezone.utc)
    return parsed


def parse_envelope(body: bytes) -> Envelope:
    """Parse the raw (already verified) body into an :class:`Envelope`."""
    try:
        data = json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except EnvelopeError:
        raise
    except RecursionError:
        raise EnvelopeError(f"body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        # Includes UnicodeDecodeError and integers too long to convert.
        raise EnvelopeError("body is not valid JSON") from None
    if not isinstance(data, dict):
        raise EnvelopeError("body must be a JSON object")
    _check_storable(data)

    payload = data.get("payload")
    if payload is None:
        payload = {}
    elif not isinstance(payload, dict):
        raise EnvelopeError("'payload' must be a JSON object")

    return Envelope(
        event_id=_scalar(data, "id", MAX_ID_LENGTH, required=True),
        resource=_scalar(data, "resource", MAX_PART_LENGTH, required=True),
        action=_scalar(data, "action", MAX_PART_LENGTH, required=True),
        tenant_id=_scalar(data, "tenant_id", MAX_TENANT_LENGTH, required=False),
        created_at=_created_at(data),
        payload=payload,
    )
