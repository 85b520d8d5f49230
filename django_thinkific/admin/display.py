"""How both admin lists write an instant: ISO (``2026-11-03 14:10``), as the chart does.

Short enough for a list to fit a 1280 px screen (the date and the time may
wrap onto two lines); the full local date-time, with seconds and zone, is the
element's tooltip and its ``datetime`` attribute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Model
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.safestring import SafeString


def instant(value: datetime | None) -> SafeString | str:
    if value is None:
        return "-"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{} {}</time>',
        local.isoformat(),
        localize(local),
        local.strftime("%Y-%m-%d"),
        local.strftime("%H:%M"),
    )


def label(model: type[Model], field: str) -> Any:
    """A field's verbose name (lazy: translated when shown), for a column or a form field
    showing that field another way."""
    return model._meta.get_field(field).verbose_name  # type: ignore[union-attr]
