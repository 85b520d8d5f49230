"""System checks for ``settings.THINKIFIC``.

Every malformed value is reported here, with an id users can silence or search
for, instead of crashing at import time or failing on the first delivery. What
is wrong with one key's value is said by the key's own entry in
:data:`django_thinkific.conf.SETTINGS` (the same entry that decides what the
app does with it); the checks below judge what involves several keys or
other settings. Short ``_check_*`` functions with one message helper, the way
``django/contrib/admin/checks.py`` writes them.

Registered under the app's own tag, ``django_thinkific``
(``manage.py check --tag django_thinkific``); the keys that guard security
(the API's https, the REST API's permissions, insecure targets) are also
reported under ``--tag security``, and only once without a tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .conf import DEFAULTS, SETTINGS, get_settings
from .signing import key_problem

TAG = "django_thinkific"


def _error(check_id: str, message: str, hint: str | None = None) -> CheckMessage:
    """One message of this app: ``E…`` an error, ``W…`` a warning."""
    level = Warning if check_id.startswith("W") else Error
    return level(message, hint=hint, id=f"django_thinkific.{check_id}")


def _raw() -> Mapping[str, Any] | None:
    raw = getattr(settings, "THINKIFIC", None)
    if raw is None:
        return {}
    return raw if isinstance(raw, Mapping) else None


@register(TAG)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every check of ``THINKIFIC`` but the security ones (:func:`check_security`)."""
    raw = _raw()
    if raw is None:
        return [
            _error(
                "E000",
                "THINKIFIC must be a dict.",
                hint="Set THINKIFIC = {'API_KEY': ..., ...} in your settings.",
            )
        ]
    return [
        *_check_api_key(),
        *_check_keys(raw, security=False),
        *_check_some_secret(raw),
        *_check_use_tz(),
        *_check_replay_window(raw),
        *_check_whitespace(raw),
        *_check_key_characters(raw),
        *_check_unknown_keys(raw),
    ]


@register(TAG, Tags.security)
def check_security(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The keys that guard security: E005, E009, W002."""
    raw = _raw()
    if raw is None:
        return []  # E000, from check_settings
    return [*_check_keys(raw, security=True), *_check_insecure_targets()]


def _check_keys(raw: Mapping[str, Any], *, security: bool) -> list[CheckMessage]:
    """Each key's own rule, from the settings table."""
    messages = []
    for name, key in SETTINGS.items():
        if not key.check_id or key.security is not security:
            continue
        problem = key.wrong(raw.get(name, key.default))
        if problem:
            messages.append(_error(key.check_id, f"THINKIFIC[{name!r}] {problem}"))
    return messages


def _check_api_key() -> list[CheckMessage]:
    conf = get_settings()
    if not conf.api_enabled or conf.api_key:
        return []
    return [
        _error(
            "E001",
            "THINKIFIC['API_KEY'] is not set, but the Webhooks API features "
            "(subscription admin, sync, send-test, REST API) are enabled.",
            hint="Set THINKIFIC['API_KEY'] to your Thinkific API key (or an app's access "
            "token), or set THINKIFIC['API_ENABLED'] = False on a site that only "
            "receives webhooks.",
        )
    ]


def _check_some_secret(raw: Mapping[str, Any]) -> list[CheckMessage]:
    if SETTINGS["WEBHOOK_SECRETS"].wrong(raw.get("WEBHOOK_SECRETS")) or (
        get_settings().webhook_secrets
    ):
        return []  # a malformed list is E002 already; or there is a key
    return [
        _error(
            "E002",
            "No webhook secret is configured, so every delivery would be refused (401).",
            hint="Set THINKIFIC['API_KEY'] and/or THINKIFIC['APP_CLIENT_SECRET'], or list "
            "the signing keys in THINKIFIC['WEBHOOK_SECRETS'].",
        )
    ]


def _check_use_tz() -> list[CheckMessage]:
    if settings.USE_TZ:
        return []
    return [
        _error(
            "E015",
            "django_thinkific needs USE_TZ = True: Thinkific's timestamps carry an offset, "
            "and events are stored and compared as aware datetimes.",
            hint="Set USE_TZ = True (Django's default since 5.0).",
        )
    ]


def _check_replay_window(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """E012: the replay window covers at least the retention."""
    retention = raw.get("EVENT_RETENTION_DAYS", DEFAULTS["EVENT_RETENTION_DAYS"])
    window = raw.get("REPLAY_WINDOW_DAYS", DEFAULTS["REPLAY_WINDOW_DAYS"])
    if SETTINGS["EVENT_RETENTION_DAYS"].wrong(retention) or SETTINGS["REPLAY_WINDOW_DAYS"].wrong(
        window
    ):
        return []  # reported as E003 / E012 already
    if window >= retention:
        return []
    return [
        _error(
            "E012",
            f"THINKIFIC['REPLAY_WINDOW_DAYS'] ({window}) is shorter than "
            f"EVENT_RETENTION_DAYS ({retention}).",
            hint="A pruned event's id must be remembered at least as long as the event "
            "itself was kept, or its replay would be stored and processed again.",
        )
    ]


def _check_whitespace(raw: Mapping[str, Any]) -> list[CheckMessage]:
    return [
        _error(
            "W003",
            f"THINKIFIC[{name!r}] has leading or trailing whitespace; it is ignored.",
            hint="A key pasted with a newline; remove it from the setting or .env.",
        )
        for name in ("API_KEY", "APP_CLIENT_SECRET")
        if isinstance(raw.get(name), str) and raw[name] != raw[name].strip()
    ]


def _check_key_characters(raw: Mapping[str, Any]) -> list[CheckMessage]:
    """E014: a key or secret holding a character an HTTP header cannot carry."""
    named: list[tuple[str, Any]] = [
        (f"THINKIFIC[{name!r}]", raw.get(name)) for name in ("API_KEY", "APP_CLIENT_SECRET")
    ]
    secrets = raw.get("WEBHOOK_SECRETS")
    items = secrets.split(",") if isinstance(secrets, str) else secrets
    if isinstance(items, (list, tuple)):
        named += [(f"THINKIFIC['WEBHOOK_SECRETS'][{i}]", item) for i, item in enumerate(items)]
    messages = []
    for name, value in named:
        problem = key_problem(value.strip()) if isinstance(value, str) else None
        if problem:
            messages.append(
                _error(
                    "E014",
                    f"{name} holds a character an HTTP header cannot carry ({problem}). "
                    "Thinkific issues no such key: API calls with it fail, and no delivery's "
                    "signature can match it.",
                    hint="A key pasted with an invisible character (a zero-width space, a "
                    "byte order mark) or a non-ASCII one; type or copy it again.",
                )
            )
    return messages


def _check_insecure_targets() -> list[CheckMessage]:
    if not get_settings().allow_insecure_targets or settings.DEBUG:
        return []
    return [
        _error(
            "W002",
            "THINKIFIC['ALLOW_INSECURE_TARGETS'] is on while DEBUG is off: test events may "
            "be sent over plain http.",
            hint="It is meant for local development; remove it in production.",
        )
    ]


def _check_unknown_keys(raw: Mapping[str, Any]) -> list[CheckMessage]:
    unknown = sorted(set(raw) - set(SETTINGS))
    if not unknown:
        return []
    return [
        _error(
            "W001",
            f"THINKIFIC has unknown keys: {', '.join(map(repr, unknown))}.",
            hint=f"Known keys: {', '.join(sorted(SETTINGS))}.",
        )
    ]
