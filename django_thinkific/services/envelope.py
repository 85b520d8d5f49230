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
from typing import Any

from django.db.models import Field

from ..errors import EnvelopeError
from ..models import ReceivedEvent
from ..timestamps import parse_timestamp
from ..topics import canonical_topic


def _max_length(field: str) -> int:
    # The columns' own limits: SQLite does not enforce them, PostgreSQL does.
    column = ReceivedEvent._meta.get_field(field)
    return column.max_length if isinstance(column, Field) and column.max_length else 0


MAX_ID_LENGTH = _max_length("event_id")
MAX_RESOURCE_LENGTH = _max_length("resource")
MAX_ACTION_LENGTH = _max_length("action")
MAX_TOPIC_LENGTH = _max_length("topic")
MAX_TENANT_LENGTH = _max_length("tenant_id")
MAX_JSON_DEPTH = 64


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
        """``resource.action``, under the registry's spelling (``canonical_topic``)."""
        return canonical_topic(f"{self.resource}.{self.action}")


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
    if isinstance(value, float):
        # A JSON number with a fraction or an exponent is read as a double, which
        # keeps about 17 digits: two different ids would become one event.
        raise EnvelopeError(
            f"'{key}' must be a string or a whole number, not a number with a fraction"
            " or an exponent"
        )
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise EnvelopeError(f"'{key}' must be a string or a whole number")
    text = str(value)  # an integer keeps every digit
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

    resource = _scalar(data, "resource", MAX_RESOURCE_LENGTH, required=True)
    action = _scalar(data, "action", MAX_ACTION_LENGTH, required=True)
    if len(resource) + 1 + len(action) > MAX_TOPIC_LENGTH:
        raise EnvelopeError(
            f"'resource' and 'action' make a topic longer than {MAX_TOPIC_LENGTH} characters"
        )
    return Envelope(
        event_id=_scalar(data, "id", MAX_ID_LENGTH, required=True),
        resource=resource,
        action=action,
        tenant_id=_scalar(data, "tenant_id", MAX_TENANT_LENGTH, required=False),
        # An unusable timestamp (unreadable, not a string, or out of range in some
        # time zone) is no reason to lose the event: it is kept without one.
        created_at=parse_timestamp(data.get("created_at")),
        payload=payload,
    )
