"""The only place that reads ``settings.THINKIFIC``: one table of keys.

Each key in :data:`SETTINGS` has its default, how a raw value is *read* (into
the value the app uses; never raises) and what is *wrong* with it (the
sentence :mod:`django_thinkific.checks` reports, under the key's check id).
The two are written side by side, so what the app does with a malformed
value and what the check says of it cannot drift apart (DRF's
``rest_framework/settings.py`` keeps its defaults the same way).

Values are resolved on access (and cached until Django's ``setting_changed``
fires), never frozen into default arguments at import time, so
``override_settings(THINKIFIC=...)`` in a test takes effect immediately.
Nothing here raises on a malformed value: a typo shows up in
``manage.py check`` instead of as an import-time crash.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from .limits import is_int as _is_int
from .limits import maximum, shown

DEFAULT_API_BASE_URL = "https://api.thinkific.com/api/v2"
DISPATCH_CHOICES = ("sync", "celery")
MIN_API_TIMEOUT = 0.1  # a tenth of a second: less, and no TLS handshake completes
#: The longest API_TIMEOUT taken (a day): the socket layer refuses a wait past its clock's
#: range (10**10 seconds raises OverflowError), NaN or infinity, so every call would fail.
MAX_API_TIMEOUT = 86400
#: What a ``request.META`` key of a header looks like (``HTTP_X_FORWARDED_FOR``).
META_KEY = re.compile(r"[A-Z][A-Z0-9_]*\Z")
DEFAULT_PERMISSION_CLASSES = (
    "rest_framework.permissions.IsAdminUser",
    "django_thinkific.api.permissions.ModelPermissions",
)


# ---------------------------------------------------------------- the rules, once


def _count(unit: str, *, optional: bool = False) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Reader and judge of a positive count of ``unit``: the default when malformed,
    clamped to :func:`maximum` when past it (a retention past year 1 keeps everything)."""

    def read(value: Any, default: Any) -> Any:
        if not _is_int(value) or value <= 0:
            return default
        return min(value, maximum(unit))

    def wrong(value: Any) -> str | None:
        if optional and value is None:
            return None
        if not _is_int(value) or value <= 0:
            kind = "None or a positive integer" if optional else "a positive integer"
            return f"must be {kind}, not {shown(value)}."
        if value > maximum(unit):
            reach = " (back to year 1)" if unit in ("days", "seconds") else ""
            return f"must be at most {maximum(unit)} {unit}{reach}, not {shown(value)}."
        return None

    return read, wrong


def _flag(value: Any, default: Any) -> bool:
    return value if isinstance(value, bool) else default  # "False" (a string) is not off


def _flag_wrong(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    return (
        f"must be True or False, not {shown(value)} (a value read from the environment is a "
        "string: convert it, e.g. with env.bool(...))."
    )


def _secret(value: Any, default: Any) -> str | None:
    # Stripped: a key pasted with a newline would otherwise break (and be quoted
    # in) requests' header validation error; W003 says so.
    return value.strip() or None if isinstance(value, str) else None


def _secret_wrong(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None  # a missing key is E001/E002's matter; its characters E014's
    # The value itself is a secret: only its type is named.
    return f"must be a string, not a {type(value).__name__}; it is not used."


def secret_list(raw: Any) -> tuple[str, ...]:
    """A list/tuple or a comma-separated string of keys; blanks dropped."""
    if isinstance(raw, str):
        items: list[Any] = raw.split(",")
    elif isinstance(raw, (list, tuple, set, frozenset)):
        items = list(raw)
    else:
        return ()
    return tuple(s.strip() for s in items if isinstance(s, str) and s.strip())


def _secrets_wrong(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None
    if not isinstance(value, (list, tuple, set, frozenset)):  # what secret_list reads
        return "must be a list of strings."
    if not all(isinstance(s, str) for s in value):
        return "must contain only strings."
    return None


def usable_api_timeout(value: Any) -> bool:
    """Whether ``value`` is an API_TIMEOUT: a finite number of seconds from
    ``MIN_API_TIMEOUT`` (below it no call could finish) to a day."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):  # compared as an int: past a float's range, float() raises
        return MIN_API_TIMEOUT <= value <= MAX_API_TIMEOUT
    return math.isfinite(value) and MIN_API_TIMEOUT <= value <= MAX_API_TIMEOUT


def _timeout(value: Any, default: Any) -> float:
    return float(value if usable_api_timeout(value) else default)


def _timeout_wrong(value: Any) -> str | None:
    if usable_api_timeout(value):
        return None
    return (
        f"must be a number of seconds from {MIN_API_TIMEOUT} to {MAX_API_TIMEOUT}, "
        f"not {shown(value)}."
    )


def _base_url(value: Any, default: Any) -> str:
    return str(value or default).rstrip("/")


def _base_url_wrong(value: Any) -> str | None:
    from .validation import HTTPS_ONLY, api_base_url_error

    if not isinstance(value, str) or not value:
        return f"must be a URL, not {shown(value)}."
    problem = api_base_url_error(value)
    if problem is None:
        return None
    plain = " Plain http is allowed only to a loopback host, for a local fake of the API."
    return f"{problem}: {shown(value)}." + (plain if problem == HTTPS_ONLY else "")


def _dispatch(value: Any, default: Any) -> str:
    return value if value in DISPATCH_CHOICES else default


def _dispatch_wrong(value: Any) -> str | None:
    from .compat import celery_installed

    if value not in DISPATCH_CHOICES:
        return f"must be one of {', '.join(map(repr, DISPATCH_CHOICES))}, not {shown(value)}."
    if value == "celery" and not celery_installed():
        return (
            "is 'celery', but Celery is not installed: pip install 'django-thinkific[celery]', "
            "or set DISPATCH = 'sync'."
        )
    return None


def _header(value: Any, default: Any) -> str | None:
    return value if isinstance(value, str) and META_KEY.match(value) else None


def _header_wrong(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and META_KEY.match(value)):
        return None
    return f"must be a request.META key such as 'HTTP_X_FORWARDED_FOR', not {shown(value)}."


def permission_class(path: Any) -> tuple[type | None, str]:
    """The permission class a ``REST_PERMISSION_CLASSES`` entry names, or why there is none.

    The one rule for an entry, for E009 and for every request (``api.permissions``) (which
    fails closed on ``None``): a dotted path, importable, to a class with
    ``has_permission``.
    """
    if not isinstance(path, str):
        return None, "is not a dotted path (a string)"
    try:
        cls = import_string(path)
    except ImportError as exc:
        return None, f"cannot be imported: {exc}"
    if not isinstance(cls, type) or not callable(getattr(cls, "has_permission", None)):
        return None, "is not a permission class (no has_permission)"
    return cls, ""


def _classes(value: Any, default: Any) -> tuple[Any, ...]:
    # Entries as given: one that is no dotted path fails each request closed, naming the
    # setting (``permission_class``), rather than becoming some other string.
    paths = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    # None would let anyone in: an empty list keeps the default (E009 says so).
    return paths or tuple(default)


def _classes_wrong(value: Any) -> str | None:
    paths = value if isinstance(value, (list, tuple)) else [value]
    if not paths:
        return (
            "is empty, which would let anyone use the staff REST API; the default "
            "classes are used instead."
        )
    problems = [shown(path) for path in paths if permission_class(path)[0] is None]
    if problems:
        return f"has entries that are not importable permission classes: {', '.join(problems)}."
    return None


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Key:
    """One ``THINKIFIC`` key: its default, its reader, its judge and check id."""

    default: Any
    read: Callable[[Any, Any], Any]  # (raw value, default) -> the value used
    wrong: Callable[[Any], str | None] = lambda value: None  # what the check says
    check_id: str = ""
    security: bool = False  # also reported under ``manage.py check --tag security``


_RETENTION = _count("days")
SETTINGS: dict[str, Key] = {
    "API_KEY": Key(None, _secret, _secret_wrong, "E017"),
    "API_BASE_URL": Key(DEFAULT_API_BASE_URL, _base_url, _base_url_wrong, "E005", True),
    "API_ENABLED": Key(True, _flag, _flag_wrong, "E016"),
    "API_TIMEOUT": Key(10, _timeout, _timeout_wrong, "E008"),
    "ALLOW_INSECURE_TARGETS": Key(False, _flag, _flag_wrong, "E016"),
    "APP_CLIENT_SECRET": Key(None, _secret, _secret_wrong, "E017"),
    # None: derived from API_KEY and APP_CLIENT_SECRET (``webhook_secrets``).
    "WEBHOOK_SECRETS": Key(None, lambda value, default: value, _secrets_wrong, "E002"),
    "EVENT_RETENTION_DAYS": Key(30, *_RETENTION, "E003"),
    "REPLAY_WINDOW_DAYS": Key(365, *_count("days"), "E012"),
    "MAX_EVENT_AGE": Key(None, *_count("days", optional=True), "E013"),
    "DISPATCH": Key("sync", _dispatch, _dispatch_wrong, "E004"),
    "MAX_BODY_SIZE": Key(1024 * 1024, *_count("bytes"), "E006"),
    "PROCESSING_TIMEOUT": Key(300, *_count("seconds"), "E007"),
    "PRUNE_BATCH_SIZE": Key(5000, *_count("rows"), "E010"),
    "CLIENT_IP_HEADER": Key(None, _header, _header_wrong, "E011"),
    "REST_PERMISSION_CLASSES": Key(
        DEFAULT_PERMISSION_CLASSES, _classes, _classes_wrong, "E009", True
    ),
}

#: Every key the app understands, with its default.
DEFAULTS: dict[str, Any] = {name: key.default for name, key in SETTINGS.items()}


@dataclass(frozen=True)
class ThinkificSettings:
    """Resolved settings. ``repr`` hides every secret."""

    raw: Mapping[str, Any] = field(repr=False)

    def _value(self, name: str) -> Any:
        key = SETTINGS[name]
        return key.read(self.raw.get(name, key.default), key.default)

    @property
    def api_key(self) -> str | None:
        return self._value("API_KEY")

    @property
    def app_client_secret(self) -> str | None:
        return self._value("APP_CLIENT_SECRET")

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        """Every key a delivery may be signed with; any match accepts it.

        Default: the API key and the app client secret, where set, because
        Thinkific signs with whichever created the webhook.
        """
        if self.raw.get("WEBHOOK_SECRETS") is not None:
            return secret_list(self.raw["WEBHOOK_SECRETS"])
        return tuple(s for s in (self.api_key, self.app_client_secret) if s)

    @property
    def api_base_url(self) -> str:
        return self._value("API_BASE_URL")

    @property
    def api_base_url_problem(self) -> str | None:
        """What E005 says of ``API_BASE_URL``; while it says anything, nothing is sent there
        (the API key travels in every request)."""
        key = SETTINGS["API_BASE_URL"]
        return key.wrong(self.raw.get("API_BASE_URL", key.default))

    @property
    def dispatch(self) -> str:
        return self._value("DISPATCH")

    @property
    def uses_celery(self) -> bool:
        """``DISPATCH = "celery"``: receivers run in the ``process_event`` task."""
        return self.dispatch == "celery"

    @property
    def event_retention_days(self) -> int:
        return self._value("EVENT_RETENTION_DAYS")

    @property
    def replay_window_days(self) -> int:
        """Days a pruned event's id is remembered, so that its replay runs nothing."""
        return max(self._value("REPLAY_WINDOW_DAYS"), self.event_retention_days)

    @property
    def max_event_age(self) -> int | None:
        """Days after its signed ``created_at`` an event is refused; ``None``: never."""
        return self._value("MAX_EVENT_AGE")

    @property
    def max_body_size(self) -> int:
        return self._value("MAX_BODY_SIZE")

    @property
    def processing_timeout(self) -> int:
        """Seconds after which a claimed-but-unfinished event counts as abandoned."""
        return self._value("PROCESSING_TIMEOUT")

    @property
    def prune_batch_size(self) -> int:
        return self._value("PRUNE_BATCH_SIZE")

    @property
    def api_timeout(self) -> float:
        return self._value("API_TIMEOUT")

    @property
    def allow_insecure_targets(self) -> bool:
        """Local development only: accept http:// and loopback target URLs."""
        return self._value("ALLOW_INSECURE_TARGETS")

    @property
    def rest_permission_classes(self) -> tuple[Any, ...]:
        """Dotted paths of the DRF permission classes guarding the staff REST API."""
        return self._value("REST_PERMISSION_CLASSES")

    @property
    def client_ip_header(self) -> str | None:
        """``request.META`` key holding the client address set by the site's own proxy."""
        return self._value("CLIENT_IP_HEADER")

    @property
    def api_enabled(self) -> bool:
        return self._value("API_ENABLED")


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
