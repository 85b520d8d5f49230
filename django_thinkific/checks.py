"""System checks for ``settings.THINKIFIC``.

Every malformed value is reported here, with an id users can silence or search
for, instead of crashing at import time or failing on the first delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from .conf import (
    BOOL_KEYS,
    DEFAULTS,
    DISPATCH_CHOICES,
    INT_KEYS,
    MAX_API_TIMEOUT,
    META_KEY,
    get_settings,
    maximum,
    usable_api_timeout,
)
from .signing import key_problem
from .validation import is_loopback_host


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@register(Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    raw = getattr(settings, "THINKIFIC", None)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return [
            Error(
                "THINKIFIC must be a dict.",
                hint="Set THINKIFIC = {'API_KEY': ..., ...} in your settings.",
                id="django_thinkific.E000",
            )
        ]
    conf = get_settings()
    messages: list[CheckMessage] = []

    if conf.api_enabled and not conf.api_key:
        messages.append(
            Error(
                "THINKIFIC['API_KEY'] is not set, but the Webhooks API features "
                "(subscription admin, sync, send-test, REST API) are enabled.",
                hint="Set THINKIFIC['API_KEY'] to your Thinkific API key (or an app's access "
                "token), or set THINKIFIC['API_ENABLED'] = False on a site that only "
                "receives webhooks.",
                id="django_thinkific.E001",
            )
        )

    secrets = raw.get("WEBHOOK_SECRETS")
    if secrets is not None and not isinstance(secrets, (str, list, tuple)):
        messages.append(
            Error(
                "THINKIFIC['WEBHOOK_SECRETS'] must be a list of strings.",
                id="django_thinkific.E002",
            )
        )
    elif isinstance(secrets, (list, tuple)) and not all(isinstance(s, str) for s in secrets):
        messages.append(
            Error(
                "THINKIFIC['WEBHOOK_SECRETS'] must contain only strings.",
                id="django_thinkific.E002",
            )
        )
    elif not conf.webhook_secrets:
        messages.append(
            Error(
                "No webhook secret is configured, so every delivery would be refused (401).",
                hint="Set THINKIFIC['API_KEY'] and/or THINKIFIC['APP_CLIENT_SECRET'], or list "
                "the signing keys in THINKIFIC['WEBHOOK_SECRETS'].",
                id="django_thinkific.E002",
            )
        )

    if not settings.USE_TZ:
        messages.append(
            Error(
                "django_thinkific needs USE_TZ = True: Thinkific's timestamps carry an offset, "
                "and events are stored and compared as aware datetimes.",
                hint="Set USE_TZ = True (Django's default since 5.0).",
                id="django_thinkific.E015",
            )
        )
    messages.extend(_check_integers(raw))
    messages.extend(_check_replay(raw))

    dispatch = raw.get("DISPATCH", DEFAULTS["DISPATCH"])
    if dispatch not in DISPATCH_CHOICES:
        messages.append(
            Error(
                f"THINKIFIC['DISPATCH'] must be one of {', '.join(map(repr, DISPATCH_CHOICES))}, "
                f"not {dispatch!r}.",
                id="django_thinkific.E004",
            )
        )

    messages.extend(_check_base_url(raw.get("API_BASE_URL", DEFAULTS["API_BASE_URL"])))

    for key in ("API_KEY", "APP_CLIENT_SECRET"):
        value = raw.get(key)
        if isinstance(value, str) and value != value.strip():
            messages.append(
                Warning(
                    f"THINKIFIC[{key!r}] has leading or trailing whitespace; it is ignored.",
                    hint="A key pasted with a newline; remove it from the setting or .env.",
                    id="django_thinkific.W003",
                )
            )

    messages.extend(_check_key_characters(raw))

    timeout = raw.get("API_TIMEOUT", DEFAULTS["API_TIMEOUT"])
    if not usable_api_timeout(timeout):
        messages.append(
            Error(
                f"THINKIFIC['API_TIMEOUT'] must be a positive number of seconds, at most "
                f"{MAX_API_TIMEOUT}, not {timeout!r}.",
                id="django_thinkific.E008",
            )
        )

    if conf.allow_insecure_targets and not settings.DEBUG:
        messages.append(
            Warning(
                "THINKIFIC['ALLOW_INSECURE_TARGETS'] is on while DEBUG is off: test events may "
                "be sent over plain http.",
                hint="It is meant for local development; remove it in production.",
                id="django_thinkific.W002",
            )
        )

    messages.extend(_check_permission_classes(raw.get("REST_PERMISSION_CLASSES")))

    header = raw.get("CLIENT_IP_HEADER")
    if header is not None and (not isinstance(header, str) or not META_KEY.match(header)):
        messages.append(
            Error(
                f"THINKIFIC['CLIENT_IP_HEADER'] must be a request.META key such as "
                f"'HTTP_X_FORWARDED_FOR', not {header!r}.",
                id="django_thinkific.E011",
            )
        )

    for key in BOOL_KEYS:
        value = raw.get(key, DEFAULTS[key])
        if not isinstance(value, bool):
            messages.append(
                Error(
                    f"THINKIFIC[{key!r}] must be True or False, not {value!r}.",
                    hint="A value read from the environment is a string; convert it "
                    "(e.g. env.bool(...)).",
                    id="django_thinkific.E016",
                )
            )

    unknown = sorted(set(raw) - set(DEFAULTS))
    if unknown:
        messages.append(
            Warning(
                f"THINKIFIC has unknown keys: {', '.join(map(repr, unknown))}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="django_thinkific.W001",
            )
        )
    return messages


def _check_base_url(url: Any) -> list[CheckMessage]:
    if not isinstance(url, str) or not url:
        return [
            Error(
                f"THINKIFIC['API_BASE_URL'] must be a URL, not {url!r}.",
                id="django_thinkific.E005",
            )
        ]
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("http", "https") or not host:
        return [
            Error(
                f"THINKIFIC['API_BASE_URL'] is not a valid http(s) URL: {url!r}.",
                id="django_thinkific.E005",
            )
        ]
    if parts.scheme != "https" and not is_loopback_host(host):
        return [
            Error(
                f"THINKIFIC['API_BASE_URL'] must use https (the API key travels in every "
                f"request), not {url!r}.",
                hint="Plain http is allowed only to a loopback host (localhost or a name "
                "under .localhost, 127.0.0.0/8, [::1]), for a local fake of the API.",
                id="django_thinkific.E005",
            )
        ]
    return []


def _check_integers(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """E003, E006, E007, E010, E012, E013: positive integers within their bounds."""
    messages: list[CheckMessage] = []
    for key, (check_id, unit) in INT_KEYS.items():
        value = raw.get(key, DEFAULTS[key])
        if key == "MAX_EVENT_AGE" and value is None:
            continue  # off
        if not _positive_int(value):
            kind = "None or a positive integer" if key == "MAX_EVENT_AGE" else "a positive integer"
            problem = f"must be {kind}, not {value!r}."
        elif value > maximum(key):
            reach = " (back to year 1)" if unit in ("days", "seconds") else ""
            problem = f"must be at most {maximum(key)} {unit}{reach}, not {value!r}."
        else:
            continue
        messages.append(Error(f"THINKIFIC[{key!r}] {problem}", id=f"django_thinkific.{check_id}"))
    return messages


def _check_replay(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """E012: the replay window covers at least the retention."""
    retention = raw.get("EVENT_RETENTION_DAYS", DEFAULTS["EVENT_RETENTION_DAYS"])
    window = raw.get("REPLAY_WINDOW_DAYS", DEFAULTS["REPLAY_WINDOW_DAYS"])
    if _positive_int(window) and _positive_int(retention) and window < retention:
        return [
            Error(
                f"THINKIFIC['REPLAY_WINDOW_DAYS'] ({window}) is shorter than "
                f"EVENT_RETENTION_DAYS ({retention}).",
                hint="A pruned event's id must be remembered at least as long as the event "
                "itself was kept, or its replay would be stored and processed again.",
                id="django_thinkific.E012",
            )
        ]
    return []


def _check_key_characters(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """E014: a key or secret holding a character an HTTP header cannot carry."""
    named: list[tuple[str, Any]] = [
        (f"THINKIFIC[{key!r}]", raw.get(key)) for key in ("API_KEY", "APP_CLIENT_SECRET")
    ]
    secrets = raw.get("WEBHOOK_SECRETS")
    items = secrets.split(",") if isinstance(secrets, str) else secrets
    if isinstance(items, (list, tuple)):
        named += [(f"THINKIFIC['WEBHOOK_SECRETS'][{i}]", item) for i, item in enumerate(items)]
    problems: list[CheckMessage] = []
    for name, value in named:
        problem = key_problem(value.strip()) if isinstance(value, str) else None
        if problem:
            problems.append(
                Error(
                    f"{name} holds a character an HTTP header cannot carry ({problem}). "
                    "Thinkific issues no such key: API calls with it fail, and no delivery's "
                    "signature can match it.",
                    hint="A key pasted with an invisible character (a zero-width space, a "
                    "byte order mark) or a non-ASCII one; type or copy it again.",
                    id="django_thinkific.E014",
                )
            )
    return problems


def _check_permission_classes(value: Any) -> list[CheckMessage]:
    if value is None:
        return []
    paths = value if isinstance(value, (list, tuple)) else [value]
    if not paths:
        return [
            Error(
                "THINKIFIC['REST_PERMISSION_CLASSES'] is empty, which would let anyone use the "
                "staff REST API; the default classes are used instead.",
                hint="Remove the key for the default (staff users with the model "
                "permissions), or list the classes a request must pass.",
                id="django_thinkific.E009",
            )
        ]
    problems = []
    for path in paths:
        try:
            cls = import_string(path) if isinstance(path, str) else None
        except ImportError:
            cls = None
        if not isinstance(cls, type):
            problems.append(repr(path))
    if not problems:
        return []
    return [
        Error(
            f"THINKIFIC['REST_PERMISSION_CLASSES'] has entries that are not importable "
            f"permission classes: {', '.join(problems)}.",
            hint="Use dotted paths, e.g. 'rest_framework.permissions.IsAdminUser'.",
            id="django_thinkific.E009",
        )
    ]
