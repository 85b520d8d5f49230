"""Admin screens. Thin: every change goes through ``services``."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ReceivedEvent, Subscription
from .services.processing import process_again


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("topic", "target_url", "status", "thinkific_id", "last_synced_at")
    list_filter = ("topic", "status")
    search_fields = ("thinkific_id", "target_url")
    readonly_fields = (
        "thinkific_id",
        "status",
        "remote_created_at",
        "remote_updated_at",
        "created_by",
        "updated_by",
        "last_synced_at",
        "created_at",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Subscriptions are created at Thinkific first, through the service layer.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReceivedEvent)
class ReceivedEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "topic", "status", "tenant_id", "site", "received_at", "attempts")
    list_filter = ("topic", "status", "received_at")
    search_fields = ("=event_id",)
    date_hierarchy = None
    show_full_result_count = False
    list_per_page = 50
    actions = ("process_again_action",)
    fields = (
        "event_id",
        "topic",
        "status",
        "tenant_id",
        "site",
        "header_topic",
        "thinkific_created_at",
        "received_at",
        "processed_at",
        "attempts",
        "last_attempt_at",
        "formatted_payload",
        "formatted_error",
    )
    readonly_fields = fields

    class Media:
        css = {"all": ("django_thinkific/admin.css",)}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing needs only the view permission; nothing here is editable.
        return False

    @admin.display(description=_("payload"))
    def formatted_payload(self, obj: ReceivedEvent) -> SafeString:
        text = json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False)
        return render_to_string("django_thinkific/admin/pre.html", {"text": text})

    @admin.display(description=_("last error"))
    def formatted_error(self, obj: ReceivedEvent) -> SafeString | str:
        if not obj.last_error:
            return "-"
        return render_to_string("django_thinkific/admin/pre.html", {"text": obj.last_error})

    def has_process_permission(self, request: HttpRequest) -> bool:
        """Processing again changes an event, so it takes the model's change permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description=_("Process again"), permissions=("process",))
    def process_again_action(self, request: HttpRequest, queryset: QuerySet[ReceivedEvent]) -> None:
        report = process_again(queryset.order_by("pk"))
        if report.processed:
            self.message_user(
                request,
                ngettext("%(n)d event processed.", "%(n)d events processed.", report.processed)
                % {"n": report.processed},
                messages.SUCCESS,
            )
        if report.failed:
            self.message_user(
                request,
                ngettext(
                    "%(n)d event failed again; see its error.",
                    "%(n)d events failed again; see their errors.",
                    report.failed,
                )
                % {"n": report.failed},
                messages.ERROR,
            )
        if report.skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)d event is being processed right now and was skipped.",
                    "%(n)d events are being processed right now and were skipped.",
                    report.skipped,
                )
                % {"n": report.skipped},
                messages.WARNING,
            )
