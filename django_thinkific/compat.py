"""Shims for the Django versions this app supports (4.2 LTS to 6.x), in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

View = TypeVar("View", bound=Callable[..., object])

try:  # Django 5.1+
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # pragma: no cover - Django before 5.1 has no LoginRequiredMiddleware

    def login_not_required(view_func: View) -> View:  # type: ignore[no-redef]
        """Mark a view as open to anonymous users, as Django 5.1's decorator does."""
        view_func.login_required = False  # type: ignore[attr-defined]
        return view_func


__all__ = ["login_not_required"]
