"""The API's routes; included by ``django_thinkific.urls`` under ``api/``.

No ``app_name`` here: the names live in the app's own namespace, e.g.
``django_thinkific:subscription-list`` and ``django_thinkific:event-process-again``.
"""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter
from rest_framework.urlpatterns import format_suffix_patterns

from .schema import DocsAssetView, DocsView, SchemaView
from .views import APIRootView, EventViewSet, NotFoundView, SubscriptionViewSet


class Router(DefaultRouter):
    APIRootView = APIRootView
    # The ``.json`` suffix only: DRF's default also routes ``.api`` (the browsable
    # renderer), which answered ``events/0.api/`` with an HTML 404. A browser
    # still gets the browsable page through its Accept header. The suffix reaches every
    # view as ``format=``, the actions' too (``sync.json``), so each action takes it.
    include_format_suffixes = False

    def get_urls(self) -> list[Any]:
        return format_suffix_patterns(super().get_urls(), allowed=["json"])


router = Router()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    *router.urls,
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", DocsView.as_view(), name="api-docs"),
    path("docs/assets/<str:name>", DocsAssetView.as_view(), name="api-docs-asset"),
    # Last: every other URL ending in "/" is a JSON 404. One without the slash
    # is left to APPEND_SLASH, which redirects it here (or to a real route).
    re_path(r"^(?:.*/)?$", NotFoundView.as_view(), name="api-not-found"),
]
