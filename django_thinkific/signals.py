"""Signals sent for each received event.

``webhook_received`` fires for every event, known topic or not; then the
topic's own signal (``order_created``, ``enrollment_completed``, ...) fires.
Both are sent with ``sender=ReceivedEvent`` and the keyword arguments
``event`` (the stored :class:`~django_thinkific.models.ReceivedEvent`),
``topic`` (``"order.created"``) and ``payload`` (the envelope's inner dict).

Receivers run inside one database transaction per event: if any of them
raises, the database writes of all of them are rolled back, the event is
marked ``failed`` and can be processed again without doubling anything. Put
side effects outside the database (e-mails, API calls) in
``transaction.on_commit`` so they happen only once the event succeeded.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any, TypeVar

from django.dispatch import Signal

from .topics import TOPICS

#: Sent for every event, whatever its topic.
webhook_received = Signal()

#: One signal per known topic, keyed by dotted name (``"order.created"``).
WEBHOOK_SIGNALS: dict[str, Signal] = {name: Signal() for name in TOPICS}

# Module attributes named after the topic: ``signals.order_created`` etc.
globals().update({topic.signal_name: WEBHOOK_SIGNALS[name] for name, topic in TOPICS.items()})

__all__ = [
    "WEBHOOK_SIGNALS",
    "receiver_for",
    "signal_for",
    "webhook_received",
    *(topic.signal_name for topic in TOPICS.values()),
]


def __getattr__(name: str) -> Signal:
    # Only reached for names the globals() update above did not define; it
    # exists so type checkers know ``signals.order_created`` is a Signal.
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def signal_for(topic: str) -> Signal | None:
    """The signal for ``topic``, or ``None`` for a topic without one.

    Events of unknown topics still go through ``webhook_received``.
    """
    return WEBHOOK_SIGNALS.get(topic)


F = TypeVar("F", bound=Callable[..., Any])


def receiver_for(
    *topics: str, dispatch_uid: str | None = None, weak: bool = True
) -> Callable[[F], F]:
    """Connect the decorated function to the signal of each topic named.

    ``@receiver_for("order.created", "enrollment.completed")``. An unknown
    topic name raises ``ValueError`` at import time, with the closest known
    names: a typo must not silently connect to nothing. To handle a topic that
    is not registered yet, connect to ``webhook_received`` and test ``topic``.
    """
    if not topics:
        raise ValueError("receiver_for() needs at least one topic name")
    unknown = [t for t in topics if t not in WEBHOOK_SIGNALS]
    if unknown:
        hints = {t: difflib.get_close_matches(t, WEBHOOK_SIGNALS, n=3) for t in unknown}
        detail = "; ".join(
            f"{t!r}" + (f" (did you mean {', '.join(map(repr, h))}?)" if h else "")
            for t, h in hints.items()
        )
        raise ValueError(f"Unknown Thinkific topic: {detail}")

    def decorator(func: F) -> F:
        for topic in topics:
            uid = f"{dispatch_uid}:{topic}" if dispatch_uid else None
            WEBHOOK_SIGNALS[topic].connect(func, weak=weak, dispatch_uid=uid)
        return func

    return decorator
