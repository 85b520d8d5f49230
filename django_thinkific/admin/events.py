"""Received events in the admin: read-only, fast with a million rows."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..compat import SHOW_FACETS_NEVER
from ..models import EVENT_FIELDS, ReceivedEvent
from ..services.processing import process_again
from ..services.stats import deliveries_per_day
from .lookups import CheckedLookupsMixin, TopicFilter
from .paginator import BoundedCountPaginator

CHART_HEIGHT = 120


def chart_context() -> dict[str, Any]:
    """Bars for the deliveries-per-day chart, scaled in Python: no JavaScript."""
    days = deliveries_per_day()
    peak = max((d.total for d in days), default=0) or 1
    bars = []
    for i, day in enumerate(days):
        y: float = CHART_HEIGHT
        segments = []
        for status in ("processed", "pending", "failed"):
            height = round(day.counts[status] * CHART_HEIGHT / peak, 1)
            if height:
                y -= height
                segments.append({"status": status, "y": round(y, 1), "height": height})
        bars.append(
            {
                "x": i * 12,
                "day": day.day,
                "counts": day.counts,
                "total": day.total,
                "segments": segments,
            }
        )
    return {
        "bars": bars,
        "width": len(days) * 12,
        "height": CHART_HEIGHT,
        "peak": peak if any(d.total for d in days) else 0,
        "first_day": days[0].day if days else None,
        "last_day": days[-1].day if days else None,
        "days": len(days),
    }


@admin.register(ReceivedEvent)
class ReceivedEventAdmin(CheckedLookupsMixin, admin.ModelAdmin):
    list_display = ("event_id", "topic", "status", "tenant_id", "site", "received_at", "attempts")
    list_filter = (("topic", TopicFilter), "status", "received_at")
    search_fields = ("=event_id",)
    show_full_result_count = False
    # Django 5's "Show counts" would COUNT every filter choice over the whole table.
    show_facets = SHOW_FACETS_NEVER
    paginator = BoundedCountPaginator
    list_per_page = 50
    actions = ("process_again_action",)
    change_list_template = "admin/django_thinkific/receivedevent/change_list.html"
    fields = (*EVENT_FIELDS, "formatted_payload", "formatted_error")
    readonly_fields = fields

    class Media:
        css = {"all": ("django_thinkific/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing needs only the view permission; nothing here is editable.
        return False

    def has_process_permission(self, request: HttpRequest) -> bool:
        """Processing again changes an event, so it takes the model's change permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.{get_permission_codename('change', opts)}")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "chart": chart_context()}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("payload"))
    def formatted_payload(self, obj: ReceivedEvent) -> SafeString:
        text = json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return render_to_string("django_thinkific/admin/pre.html", {"text": text})

    @admin.display(description=_("last error"))
    def formatted_error(self, obj: ReceivedEvent) -> SafeString | str:
        if not obj.last_error:
            return "-"
        return render_to_string("django_thinkific/admin/pre.html", {"text": obj.last_error})

    @admin.action(description=_("Process again"), permissions=("process",))
    def process_again_action(self, request: HttpRequest, queryset: QuerySet[ReceivedEvent]) -> None:
        report = process_again(queryset.order_by("pk"))
        for count, level, singular, plural in (
            (
                report.processed,
                messages.SUCCESS,
                "%(n)d event processed.",
                "%(n)d events processed.",
            ),
            (
                report.failed,
                messages.ERROR,
                "%(n)d event failed again; see its error.",
                "%(n)d events failed again; see their errors.",
            ),
            (
                report.skipped,
                messages.WARNING,
                "%(n)d event is being processed right now and was skipped.",
                "%(n)d events are being processed right now and were skipped.",
            ),
            (
                report.gone,
                messages.WARNING,
                "%(n)d event was deleted (pruned) meanwhile.",
                "%(n)d events were deleted (pruned) meanwhile.",
            ),
        ):
            if count:
                self.message_user(request, ngettext(singular, plural, count) % {"n": count}, level)
