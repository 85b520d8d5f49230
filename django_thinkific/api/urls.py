"""The API's routes; included by ``django_thinkific.urls`` under ``api/``.

No ``app_name`` here: the names live in the app's own namespace, e.g.
``django_thinkific:subscription-list`` and ``django_thinkific:event-process-again``.
"""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from .views import APIRootView, EventViewSet, SubscriptionViewSet


class Router(DefaultRouter):
    APIRootView = APIRootView


router = Router()
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("events", EventViewSet, basename="event")

urlpatterns = router.urls
