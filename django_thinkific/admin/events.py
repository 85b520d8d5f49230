"""Received events in the admin: read-only, fast with a million rows."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ..compat import SHOW_FACETS_NEVER
from ..models import EVENT_FIELDS, ReceivedEvent
from ..services.processing import ProcessAgainReport, process_again
from ..services.stats import deliveries_per_day
from .display import instant, label
from .lookups import CheckedLookupsMixin, TopicFilter
from .paginator import BoundedCountPaginator

CHART_HEIGHT = 120
#: Dates written under the chart (evenly spaced, the first and the last day included).
CHART_LABELS = 6


def axis_labels(days: list[Any]) -> list[dict[str, Any]]:
    """Up to ``CHART_LABELS`` days under the chart, each at its bar's centre (percent)."""
    n = len(days)
    if not n:
        return []
    count = min(n, CHART_LABELS)
    indexes = sorted({round(i * (n - 1) / (count - 1)) for i in range(count)} if count > 1 else {0})
    labels = []
    for position, index in enumerate(indexes):
        align = "start" if position == 0 else "end" if position == len(indexes) - 1 else "middle"
        labels.append(
            {"day": days[index].day, "left": round((index + 0.5) * 100 / n, 2), "align": align}
        )
    if len(labels) == 1:
        labels[0]["align"] = "middle"
    return labels


def chart_context(events: QuerySet[ReceivedEvent] | None = None) -> dict[str, Any]:
    """Bars for the deliveries-per-day chart of ``events`` (the list's filtered queryset),
    scaled in Python: no JavaScript."""
    days = deliveries_per_day(events=events)
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
        "labels": axis_labels(days),
        "days": len(days),
    }


@admin.register(ReceivedEvent)
class ReceivedEventAdmin(CheckedLookupsMixin, admin.ModelAdmin):
    list_display = ("event_id", "topic", "status", "tenant_id", "site", "received", "attempts")
    list_filter = (("topic", TopicFilter), "status", "received_at")
    search_fields = ("=event_id",)
    show_full_result_count = False
    # Django 5's "Show counts" would COUNT every filter choice over the whole table.
    show_facets = SHOW_FACETS_NEVER
    paginator = BoundedCountPaginator
    list_per_page = 50
    actions = ("process_again_action",)
    change_list_template = "admin/django_thinkific/receivedevent/change_list.html"
    change_form_template = "admin/django_thinkific/receivedevent/change_form.html"
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
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)  # a redirect (?e=1) has none
        if context and context.get("cl") is not None:
            cl = context["cl"]
            # The chart counts what the list shows: its filters and its search.
            context["chart"] = {
                **chart_context(cl.queryset),
                "filtered": bool(cl.get_filters_params() or cl.query),
            }
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_process": self.has_process_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_POST(self.process_again_view))
        return [
            path(
                "<path:object_id>/process-again/",
                view,
                name="django_thinkific_receivedevent_process_again",
            ),
            *super().get_urls(),
        ]

    def process_again_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        """The event page's "Process again" button: what the list's action does, for one."""
        if not self.has_process_permission(request):
            raise PermissionDenied
        in_range = object_id.isascii() and object_id.isdigit() and int(object_id) < 2**63
        event = self.get_object(request, object_id) if in_range else None
        if event is None:
            raise Http404(_("No received event with this ID."))
        self._report(request, process_again(self.get_queryset(request).filter(pk=event.pk)))
        return redirect(reverse("admin:django_thinkific_receivedevent_change", args=[event.pk]))

    @admin.display(description=label(ReceivedEvent, "received_at"), ordering="received_at")
    def received(self, obj: ReceivedEvent) -> SafeString | str:
        return instant(obj.received_at)

    @admin.display(description=_("payload"))
    def formatted_payload(self, obj: ReceivedEvent) -> SafeString:
        text = json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return render_to_string("django_thinkific/admin/pre.html", {"text": text})

    @admin.display(description=_("last error"))
    def formatted_error(self, obj: ReceivedEvent) -> SafeString | str:
        if not obj.last_error:
            return "-"
        if obj.status == ReceivedEvent.Status.FAILED:  # the page shows it at the top
            return format_html('<a href="#thinkific-error">{}</a>', _("At the top of the page."))
        return render_to_string("django_thinkific/admin/pre.html", {"text": obj.last_error})

    @admin.action(description=_("Process again"), permissions=("process",))
    def process_again_action(self, request: HttpRequest, queryset: QuerySet[ReceivedEvent]) -> None:
        self._report(request, process_again(queryset.order_by("pk")))

    def _report(self, request: HttpRequest, report: ProcessAgainReport) -> None:
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
