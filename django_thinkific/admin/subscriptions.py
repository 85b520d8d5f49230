"""Subscriptions in the admin, as on Thinkific's own Webhooks page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ..compat import log_deletion
from ..errors import ThinkificAPIError
from ..models import SUBSCRIPTION_EDITABLE_FIELDS, Subscription
from ..services import subscriptions
from ..services.sending import send_test_event
from ..services.sync_plan import SYNCED_FIELDS
from .display import instant, label
from .forms import SubscriptionForm, api_error_message
from .lookups import CheckedLookupsMixin, TopicFilter

#: Shown read-only on an existing webhook: what mirrors Thinkific, and when it last did.
REMOTE_FIELDS = (
    "thinkific_id",
    *(name for name in SYNCED_FIELDS if name not in SUBSCRIPTION_EDITABLE_FIELDS),
    "last_synced_at",
)


@admin.register(Subscription)
class SubscriptionAdmin(CheckedLookupsMixin, admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ("topic", "target_url", "status", "thinkific_id", "last_synced")
    list_filter = (("topic", TopicFilter), "status")
    search_fields = ("=thinkific_id", "target_url")
    # "Sync from Thinkific" is the list's button (sync_view), not an action: it syncs every
    # webhook, whichever rows are ticked.
    actions = ("send_test_event_action", "delete_selected")
    change_list_template = "admin/django_thinkific/subscription/change_list.html"
    delete_confirmation_template = "admin/django_thinkific/subscription/delete_confirmation.html"
    delete_selected_confirmation_template = (
        "admin/django_thinkific/subscription/delete_selected_confirmation.html"
    )

    class Media:
        css = {"all": ("django_thinkific/admin.css",)}

    def get_fields(self, request: HttpRequest, obj: Subscription | None = None) -> Any:
        editable = SUBSCRIPTION_EDITABLE_FIELDS
        return editable if obj is None else (*editable, *REMOTE_FIELDS)

    def get_readonly_fields(self, request: HttpRequest, obj: Subscription | None = None) -> Any:
        return () if obj is None else REMOTE_FIELDS

    @admin.display(description=label(Subscription, "last_synced_at"), ordering="last_synced_at")
    def last_synced(self, obj: Subscription) -> Any:
        return instant(obj.last_synced_at)

    # --- add / change / delete: Thinkific first -------------------------------------------

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Subscription | None = None,
    ) -> HttpResponse:
        adminform = context.get("adminform")
        failure = getattr(adminform.form, "api_failure", None) if adminform else None
        if failure:
            # Not the form's fault: said at the top, the form kept as entered, and no
            # "Please correct the error below" (there is nothing to correct).
            self.message_user(request, failure, messages.ERROR)
            context = {**context, "errors": []}
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        """Nothing to do: the form's ``save()`` (the admin's ``save_form``) stored the row."""

    def delete_model(self, request: HttpRequest, obj: Subscription) -> None:
        if not subscriptions.delete(obj):
            self.message_user(
                request,
                _("Thinkific had already deleted this webhook; it is removed here too."),
                messages.WARNING,
            )

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ThinkificAPIError as exc:
            self.message_user(request, api_error_message(exc), messages.ERROR)
            return redirect(reverse("admin:django_thinkific_subscription_change", args=[object_id]))

    @admin.action(
        description=gettext_lazy("Delete selected webhooks (at Thinkific too)"),
        permissions=("delete",),
    )
    def delete_selected(
        self, request: HttpRequest, queryset: QuerySet[Subscription]
    ) -> TemplateResponse | None:
        if not request.POST.get("post"):
            return django_delete_selected(self, request, queryset)  # the confirmation page
        deleted, failed = [], []
        for sub in queryset:
            try:
                subscriptions.delete(sub)
            except ThinkificAPIError as exc:
                failed.append(f"{sub} ({exc})")
            else:
                log_deletion(self, request, sub)
                deleted.append(str(sub))
        if deleted:
            self.message_user(
                request, _("Deleted: %(list)s.") % {"list": "; ".join(deleted)}, messages.SUCCESS
            )
        if failed:
            self.message_user(
                request,
                _("Not deleted, nothing changed for these: %(list)s.")
                % {"list": "; ".join(failed)},
                messages.ERROR,
            )
        return None

    # --- send test event ------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Send test event"), permissions=("change",))
    def send_test_event_action(
        self, request: HttpRequest, queryset: QuerySet[Subscription]
    ) -> None:
        for sub in queryset:
            # "Test event for ...": the admin capitalises a message's first letter,
            # which would misspell a topic name put first.
            try:
                result = send_test_event(sub)
            except ThinkificAPIError as exc:
                self.message_user(
                    request,
                    _("Test event for %(sub)s: %(error)s") % {"sub": sub, "error": exc},
                    messages.ERROR,
                )
                continue
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(
                request,
                _("Test event for %(sub)s: %(result)s") % {"sub": sub, "result": result.describe()},
                level,
            )

    # --- sync -----------------------------------------------------------------------------

    def _sync(self, request: HttpRequest) -> None:
        try:
            report = subscriptions.sync()
        except ThinkificAPIError as exc:
            self.message_user(
                request,
                _("Sync failed: %(error)s. Nothing was changed.") % {"error": exc},
                messages.ERROR,
            )
            return
        self.message_user(request, report.summary(), messages.SUCCESS)
        if report.skipped:
            self.message_user(
                request,
                _("%(count)d skipped, not stored: %(list)s.")
                % {"count": len(report.skipped), "list": "; ".join(report.skipped)},
                messages.WARNING,
            )

    def get_urls(self) -> list[URLPattern]:
        sync_view = self.admin_site.admin_view(require_POST(self.sync_view))
        return [
            path("sync/", sync_view, name="django_thinkific_subscription_sync"),
            *super().get_urls(),
        ]

    def sync_view(self, request: HttpRequest) -> HttpResponseRedirect:
        """The changelist's "Sync from Thinkific" button (works with no row selected)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        self._sync(request)
        return redirect(reverse("admin:django_thinkific_subscription_changelist"))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_sync": self.has_change_permission(request)}
        return super().changelist_view(request, extra_context)
