"""The only place that reads ``settings.THINKIFIC``.

Values are resolved on access (and cached until Django's ``setting_changed``
fires), never frozen into default arguments at import time, so
``override_settings(THINKIFIC=...)`` in a test takes effect immediately.

This module never raises on a malformed value: it normalises what it can and
leaves the reporting to :mod:`django_thinkific.checks`, so a typo shows up in
``manage.py check`` instead of as an import-time crash.
"""

from __future__ import annotations

import math
import re
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from .timestamps import UTC, max_days_before

DEFAULT_API_BASE_URL = "https://api.thinkific.com/api/v2"

#: Every key the app understands, with its default. ``WEBHOOK_SECRETS`` is
#: ``None`` here because its default is derived from two other keys.
DEFAULTS: dict[str, Any] = {
    "API_KEY": None,
    "API_BASE_URL": DEFAULT_API_BASE_URL,
    "API_ENABLED": True,
    "API_TIMEOUT": 10,
    "ALLOW_INSECURE_TARGETS": False,
    "APP_CLIENT_SECRET": None,
    "WEBHOOK_SECRETS": None,
    "EVENT_RETENTION_DAYS": 30,
    "REPLAY_WINDOW_DAYS": 365,
    "MAX_EVENT_AGE": None,
    "DISPATCH": "sync",
    "MAX_BODY_SIZE": 1024 * 1024,
    "PROCESSING_TIMEOUT": 300,
    "PRUNE_BATCH_SIZE": 5000,
    "CLIENT_IP_HEADER": None,
    "REST_PERMISSION_CLASSES": (
        "rest_framework.permissions.IsAdminUser",
        "django_thinkific.api.permissions.ModelPermissions",
    ),
}

DISPATCH_CHOICES = ("sync", "celery")
#: The longest API_TIMEOUT taken (a day): the socket layer refuses a wait past its clock's
#: range (10**10 seconds raises OverflowError), NaN or infinity, so every call would fail.
MAX_API_TIMEOUT = 86400


def usable_api_timeout(value: Any) -> bool:
    """Whether ``value`` is an API_TIMEOUT: a finite number of seconds above 0, at most a day."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and 0 < value <= MAX_API_TIMEOUT


#: The integer keys, each with its check id and the unit that bounds it. A count
#: of days (or seconds) must leave a usable instant when taken from now (no
#: further back than year 1); a count of rows or bytes must fit the integers a
#: database and Python's I/O take. ``conf`` clamps to the bound, ``checks``
#: reports a value past it: one table for both.
INT_KEYS: dict[str, tuple[str, str]] = {
    "EVENT_RETENTION_DAYS": ("E003", "days"),
    "MAX_BODY_SIZE": ("E006", "bytes"),
    "PROCESSING_TIMEOUT": ("E007", "seconds"),
    "PRUNE_BATCH_SIZE": ("E010", "rows"),
    "REPLAY_WINDOW_DAYS": ("E012", "days"),
    "MAX_EVENT_AGE": ("E013", "days"),
}


#: What a ``request.META`` key of a header looks like (``HTTP_X_FORWARDED_FOR``).
META_KEY = re.compile(r"[A-Z][A-Z0-9_]*\Z")

#: Keys that must be ``True`` or ``False`` (not a string such as ``"False"``).
BOOL_KEYS = ("API_ENABLED", "ALLOW_INSECURE_TARGETS")


def maximum(key: str) -> int:
    """The largest value integer setting ``key`` may take (see :data:`INT_KEYS`)."""
    unit = INT_KEYS[key][1]
    now = datetime.now(UTC)  # aware whatever USE_TZ says (E015 reports USE_TZ = False)
    if unit == "days":
        return max_days_before(now)
    if unit == "seconds":
        return max_days_before(now) * 86400
    if unit == "rows":
        return 2**63 - 1  # a 64-bit SQL integer (LIMIT, id ranges)
    return sys.maxsize - 1  # bytes: what a read() can be asked for, plus one


def _secret_list(raw: Any) -> tuple[str, ...]:
    """Accept a list/tuple or a comma-separated string; drop blanks."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        items: list[Any] = raw.split(",")
    elif isinstance(raw, (list, tuple, set, frozenset)):
        items = list(raw)
    else:
        return ()
    return tuple(s.strip() for s in items if isinstance(s, str) and s.strip())


@dataclass(frozen=True)
class ThinkificSettings:
    """Resolved settings. ``repr`` hides every secret."""

    raw: Mapping[str, Any] = field(repr=False)

    @property
    def api_key(self) -> str | None:
        # Stripped: a key pasted with a newline would otherwise break (and be
        # quoted in) requests' header validation error.
        value = self.raw.get("API_KEY")
        return value.strip() or None if isinstance(value, str) else None

    @property
    def app_client_secret(self) -> str | None:
        value = self.raw.get("APP_CLIENT_SECRET")
        return value.strip() or None if isinstance(value, str) else None

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        """Every key a delivery may be signed with; any match accepts it.

        Default: the API key and the app client secret, where set, because
        Thinkific signs with whichever created the webhook.
        """
        if self.raw.get("WEBHOOK_SECRETS") is not None:
            return _secret_list(self.raw["WEBHOOK_SECRETS"])
        return tuple(s for s in (self.api_key, self.app_client_secret) if s)

    @property
    def api_base_url(self) -> str:
        value = self.raw.get("API_BASE_URL") or DEFAULT_API_BASE_URL
        return str(value).rstrip("/")

    @property
    def dispatch(self) -> str:
        return str(self.raw.get("DISPATCH", DEFAULTS["DISPATCH"]))

    def _int(self, key: str) -> int:
        """A positive integer setting: the default when malformed (E0xx), clamped to
        :func:`maximum` when past it (a retention past year 1 keeps everything)."""
        value = self.raw.get(key, DEFAULTS[key])
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return int(DEFAULTS[key])
        return min(value, maximum(key))

    @property
    def event_retention_days(self) -> int:
        return self._int("EVENT_RETENTION_DAYS")

    @property
    def replay_window_days(self) -> int:
        """Days a pruned event's id is remembered, so that its replay runs nothing."""
        return max(self._int("REPLAY_WINDOW_DAYS"), self.event_retention_days)

    @property
    def max_event_age(self) -> int | None:
        """Days after its signed ``created_at`` an event is refused; ``None``: never."""
        value = self.raw.get("MAX_EVENT_AGE")
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return None
        return min(value, maximum("MAX_EVENT_AGE"))

    @property
    def max_body_size(self) -> int:
        return self._int("MAX_BODY_SIZE")

    @property
    def processing_timeout(self) -> int:
        """Seconds after which a claimed-but-unfinished event counts as abandoned."""
        return self._int("PROCESSING_TIMEOUT")

    @property
    def prune_batch_size(self) -> int:
        return self._int("PRUNE_BATCH_SIZE")

    @property
    def api_timeout(self) -> float:
        value = self.raw.get("API_TIMEOUT", DEFAULTS["API_TIMEOUT"])
        if not usable_api_timeout(value):  # reported as E008
            return float(DEFAULTS["API_TIMEOUT"])
        return float(value)

    @property
    def allow_insecure_targets(self) -> bool:
        """Local development only: accept http:// and loopback target URLs."""
        return self.raw.get("ALLOW_INSECURE_TARGETS", False) is True  # "False" is not on

    @property
    def rest_permission_classes(self) -> tuple[str, ...]:
        """Dotted paths of the DRF permission classes guarding the staff REST API."""
        value = self.raw.get("REST_PERMISSION_CLASSES", DEFAULTS["REST_PERMISSION_CLASSES"])
        paths = tuple(value) if isinstance(value, (list, tuple)) else (str(value),)
        # None would let anyone in: an empty list keeps the default (E009 says so).
        return paths or tuple(DEFAULTS["REST_PERMISSION_CLASSES"])

    @property
    def client_ip_header(self) -> str | None:
        """``request.META`` key holding the client address set by the site's own proxy."""
        value = self.raw.get("CLIENT_IP_HEADER")
        return value if isinstance(value, str) and META_KEY.match(value) else None

    @property
    def api_enabled(self) -> bool:
        return self.raw.get("API_ENABLED", True) is not False  # a malformed value: E016


_lock = threading.Lock()
_cached: ThinkificSettings | None = None


def get_settings() -> ThinkificSettings:
    """The current ``THINKIFIC`` settings, resolved."""
    global _cached
    current = _cached
    if current is None:
        with _lock:
            raw = getattr(django_settings, "THINKIFIC", None)
            current = _cached = ThinkificSettings(raw if isinstance(raw, Mapping) else {})
    return current


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    global _cached
    if setting == "THINKIFIC":
        _cached = None
