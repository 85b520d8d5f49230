"""Shims for the Django versions this app supports (4.2 LTS to 6.x), in one place."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Awaitable, Callable
from datetime import timezone as dt_timezone
from datetime import tzinfo
from typing import Any, TypeVar

import django
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib import admin
from django.dispatch import Signal
from django.http import HttpResponseBase
from django.utils import timezone

# The bound Django's own decorators (and django-stubs) give a view.
View = TypeVar("View", bound=Callable[..., HttpResponseBase | Awaitable[HttpResponseBase]])

try:  # Django 5.1+
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # pragma: no cover - Django before 5.1 has no LoginRequiredMiddleware

    def login_not_required(view_func: View) -> View:
        """Mark a view as open to anonymous users, as Django 5.1's decorator does."""
        view_func.login_required = False  # type: ignore[attr-defined]
        return view_func


#: ``ModelAdmin.show_facets`` to hide the facet counts (Django 5.0+; before, there are none).
SHOW_FACETS_NEVER: Any = getattr(admin, "ShowFacets", None) and admin.ShowFacets.NEVER


def log_deletion(model_admin: Any, request: Any, obj: Any) -> None:
    """Record one deletion in the admin log (``log_deletions``, Django 5.1+; before, one by one)."""
    if hasattr(model_admin, "log_deletions"):
        model_admin.log_deletions(request, [obj])
    else:  # pragma: no cover - Django before 5.1
        model_admin.log_deletion(request, obj, str(obj))


def origin_verified(request: Any) -> bool:
    """Django's CSRF origin check for ``request`` (``CsrfViewMiddleware._origin_verified``,
    private but stable on 4.0 to 6.x): the site's host, ``CSRF_TRUSTED_ORIGINS``, proxies."""
    from django.middleware.csrf import CsrfViewMiddleware

    middleware = CsrfViewMiddleware(lambda r: None)  # type: ignore[arg-type]
    return bool(middleware._origin_verified(request))  # type: ignore[attr-defined]


def live_receivers(signal: Signal, sender: Any) -> list[Callable[..., Any]]:
    """The signal's live receivers for ``sender``, async ones made callable (sync).

    ``Signal._live_receivers`` (private) returns a list before Django 5.0 and a
    ``(sync, async)`` pair since; both are handled (tested on 4.2, 5.2 and 6.x).
    """
    live = signal._live_receivers(sender)
    if isinstance(live, tuple):  # Django 5.0+
        sync_receivers, async_receivers = live
        return [*sync_receivers, *(async_to_sync(r) for r in async_receivers)]
    # Django 4.2 tells no async receiver apart: called as is, one would only
    # return a coroutine, never run (and the event would count as processed).
    return [async_to_sync(r) if iscoroutinefunction(r) else r for r in live]  # pragma: no cover


def celery_installed() -> bool:
    """Whether Celery can be imported here (``pip install django-thinkific[celery]``).

    Celery is an extra: a site with ``DISPATCH = "sync"`` runs without it. The app
    config registers the tasks only where it is installed, and check E004 reports
    ``DISPATCH = "celery"`` without it.
    """
    try:
        return importlib.util.find_spec("celery") is not None
    except ValueError:  # pragma: no cover - a "celery" module without a spec
        return True


def database_timezone() -> tzinfo:
    """The current time zone, to hand to ``TruncDate`` and its kin.

    Django before 5.0 reads a sign and hours at the end of a zone's name as an
    offset (``Etc/GMT+12`` -> ``+12``) and then fails on SQLite ("user-defined
    function raised exception"). Those zones have a fixed offset, so there the
    same offset is handed over as a plain ``datetime.timezone`` instead.
    """
    zone = timezone.get_current_timezone()
    if django.VERSION >= (5, 0) or not re.search(r"[+-]\d+$", str(zone)):
        return zone
    offset = timezone.now().astimezone(zone).utcoffset()
    return dt_timezone(offset) if offset is not None else zone


__all__ = [
    "SHOW_FACETS_NEVER",
    "celery_installed",
    "database_timezone",
    "live_receivers",
    "log_deletion",
    "login_not_required",
    "origin_verified",
]
