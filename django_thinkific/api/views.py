"""The viewsets: HTTP in, a service call, a serializer out.

No business logic lives here. Subscriptions change only through
:mod:`django_thinkific.services.subscriptions` (Thinkific first, then the
database), a test event is sent by :mod:`~django_thinkific.services.sending`,
and events are processed again by :mod:`~django_thinkific.services.processing`.

Authentication, permissions, filtering and pagination are set on the classes
instead of inherited from the site's ``REST_FRAMEWORK`` defaults, so the API
behaves the same on every site; only the permission classes are configurable
(``THINKIFIC['REST_PERMISSION_CLASSES']``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema_view
from rest_framework import routers, status, views, viewsets
from rest_framework.authentication import (
    BaseAuthentication,
    BasicAuthentication,
    SessionAuthentication,
)
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.inspectors import ViewInspector

from ..compat import origin_verified
from ..errors import ThinkificAPIError
from ..models import ReceivedEvent, Subscription
from ..services import subscriptions
from ..services.processing import process_again
from ..services.sending import send_test_event
from .exceptions import to_api_exception
from .openapi import UPSTREAM, document, errors
from .pagination import EventCursorPagination, SubscriptionPagination
from .permissions import configured_permissions
from .serializers import (
    EventDetailSerializer,
    EventFilterSerializer,
    EventListSerializer,
    ProcessAgainSerializer,
    SendTestSerializer,
    SubscriptionFilterSerializer,
    SubscriptionSerializer,
    SyncReportSerializer,
)

if TYPE_CHECKING:
    from rest_framework.generics import BaseFilterProtocol

#: The pagination's query parameters (filter_params refuses them repeated, too).
PAGINATION_PARAMS = frozenset({"page", "page_size", "cursor"})
#: The largest primary key a ``BigAutoField`` can hold.
MAX_PK = 2**63 - 1

logger = logging.getLogger("django_thinkific.api")

_M = TypeVar("_M", bound=Model)


class BrowserSafeBasicAuthentication(BasicAuthentication):
    """HTTP Basic, except on unsafe requests a browser marks as coming from another site.

    A browser that once answered the Basic prompt resends the credentials by
    itself, also on a form another site makes it submit; Basic has no CSRF
    token. So an unsafe Basic request with an ``Origin`` must pass Django's own
    CSRF origin check (the site's host, ``CSRF_TRUSTED_ORIGINS``, the proxy
    settings), and one without an ``Origin`` must not be marked
    ``Sec-Fetch-Site: cross-site``. Scripts and curl send neither header.
    """

    def authenticate(self, request: Request) -> Any:
        result = super().authenticate(request)
        if result is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
            django_request = request._request
            if "HTTP_ORIGIN" in django_request.META:
                allowed = origin_verified(django_request)
            else:
                allowed = request.headers.get("Sec-Fetch-Site") != "cross-site"
            if not allowed:
                raise PermissionDenied("Cross-site request refused.")
        return result


class ThinkificAPIMixin(Generic[_M]):
    """What every view of the API shares: auth, permissions and the error mapping.

    Basic comes first so an anonymous request gets 401 with a
    ``WWW-Authenticate`` challenge (what curl and HTTP clients expect);
    a browser session still works, with DRF's CSRF check on unsafe methods.
    ``_M`` is the model of the view's rows (``get_object`` returns one).
    """

    authentication_classes: Sequence[type[BaseAuthentication]] = (
        BrowserSafeBasicAuthentication,
        SessionAuthentication,
    )
    # JSON only: an HTML form from another site cannot produce a JSON body.
    parser_classes: Sequence[type[BaseParser]] = (JSONParser,)
    filter_backends: Sequence[type[BaseFilterBackend | BaseFilterProtocol[_M]]] = ()
    # drf-spectacular's, whatever the site's DEFAULT_SCHEMA_CLASS (see schema.py).
    schema: ViewInspector | None = AutoSchema()
    #: Actions where a 404 from Thinkific cannot mean "this webhook is gone".
    upstream_404_actions: frozenset[str] = frozenset({"create", "sync"})
    # What the views this is mixed into provide (declared for the type checker only).
    kwargs: Any
    lookup_field: str
    lookup_url_kwarg: str | None

    def get_permissions(self) -> list[BasePermission]:
        return configured_permissions()

    def get_object(self) -> _M:
        """The row named in the path; anything but a plain positive id is a 404 in JSON.

        The routes accept any path segment, so ``abc``, ``%C2%84`` or an id past
        the column's range reach this JSON 404 instead of Django's HTML page
        (and ``٣``, which ``int()`` would take for 3, is no id either).
        """
        value = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)
        if not (
            isinstance(value, str)
            and value.isascii()
            and value.isdigit()
            and len(value) <= len(str(MAX_PK))  # int() refuses past 4,300 digits
            and 0 < int(value) <= MAX_PK
        ):
            raise NotFound()
        return super().get_object()  # type: ignore[misc]

    def filter_params(self, serializer_class: type[Any]) -> dict[str, Any]:
        """The list's query parameters, validated; blank means no filter; bad is a 400."""
        query = self.request.query_params  # type: ignore[attr-defined]
        # ``?status=a&status=b`` is no OR: one value per parameter (else DRF takes the last).
        repeated = {
            name: [_("Give this parameter once.")]
            for name, values in query.lists()
            if len(values) > 1 and name in {*serializer_class().fields, *PAGINATION_PARAMS}
        }
        if repeated:
            raise ValidationError(repeated)
        params = {k: v for k, v in query.items() if v != ""}
        filters = serializer_class(data=params)
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        return dict(filters.validated_data)

    def handle_exception(self, exc: Exception) -> Response:
        """Turn a service-layer failure into a DRF error, for every action at once."""
        if isinstance(exc, ThinkificAPIError):
            view_action = getattr(self, "action", None)
            not_found_is_404 = view_action not in self.upstream_404_actions
            exc = to_api_exception(exc, not_found_is_404=not_found_is_404)
            if exc.status_code >= 500:
                logger.warning("Thinkific API failure during %s: %s", view_action, exc.detail)
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        wait = getattr(exc, "wait", None)
        if wait is not None and not response.has_header("Retry-After"):
            # DRF's default handler sets it; a site's own EXCEPTION_HANDLER may not.
            response["Retry-After"] = str(wait)
        return response


@extend_schema_view(
    list=document(
        summary="List the subscriptions (exact filters)",
        parameters=[SubscriptionFilterSerializer],
        responses={200: SubscriptionSerializer, **errors(400, 404)},
    ),
    create=document(
        summary="Create a webhook at Thinkific, then here",
        responses={201: SubscriptionSerializer, **errors(400, 415, 422, *UPSTREAM)},
    ),
    retrieve=document(
        summary="One subscription", responses={200: SubscriptionSerializer, **errors(404)}
    ),
    update=document(
        summary="Change a webhook (both fields) at Thinkific, then here",
        responses={200: SubscriptionSerializer, **errors(400, 404, 415, 422, *UPSTREAM)},
    ),
    partial_update=document(
        summary="Change a webhook (the fields given) at Thinkific, then here",
        responses={200: SubscriptionSerializer, **errors(400, 404, 415, 422, *UPSTREAM)},
    ),
    destroy=document(
        summary="Delete a webhook at Thinkific (already gone there: fine), then here",
        responses={204: None, **errors(404, *UPSTREAM)},
    ),
    send_test=document(
        summary="Send a signed test event to the target URL",
        description="200 whether or not the target accepted it: `ok`, `status_code` and "
        "`detail` say what happened. 422 when the stored target breaks Thinkific's rules.",
        request=None,
        responses={200: SendTestSerializer, **errors(404, 422, 503)},
    ),
    sync=document(
        summary="Make the table mirror Thinkific's webhooks",
        description="Every page of Thinkific's list; on any failure nothing is deleted.",
        request=None,
        responses={200: SyncReportSerializer, **errors(*UPSTREAM)},
    ),
)
class SubscriptionViewSet(ThinkificAPIMixin[Subscription], viewsets.ModelViewSet):
    """Thinkific webhooks. Create, update and delete go to Thinkific first.

    List filters: ``?topic=`` and ``?status=`` (exact).
    """

    queryset = Subscription.objects.order_by("topic", "target_url", "pk")
    serializer_class = SubscriptionSerializer
    pagination_class = SubscriptionPagination

    def get_queryset(self) -> QuerySet[Subscription]:
        queryset = super().get_queryset()
        if self.action == "list":
            queryset = queryset.filter(**self.filter_params(SubscriptionFilterSerializer))
        return queryset

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = subscriptions.create(
            serializer.validated_data["topic"], serializer.validated_data["target_url"]
        )
        return Response(self.get_serializer(subscription).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """PUT needs both fields; PATCH keeps the stored value of an omitted one."""
        subscription = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = self.get_serializer(subscription, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = subscriptions.update(
            subscription,
            topic=data.get("topic", subscription.topic),
            target_url=data.get("target_url", subscription.target_url),
        )
        return Response(self.get_serializer(subscription).data)

    def perform_destroy(self, instance: Subscription) -> None:
        # False when Thinkific had already deleted it: gone here too, still a 204.
        subscriptions.delete(instance)

    @action(detail=True, methods=["post"], url_path="send-test")
    def send_test(
        self, request: Request, pk: str | None = None, format: str | None = None
    ) -> Response:
        """POST a signed sample event to the target URL; 200 whether or not it was accepted."""
        delivery = send_test_event(self.get_object())
        return Response(SendTestSerializer(delivery).data)

    @action(detail=False, methods=["post"])
    def sync(self, request: Request, format: str | None = None) -> Response:
        """Make the table mirror Thinkific's webhooks; the counts of what changed."""
        report = subscriptions.sync()
        return Response(SyncReportSerializer(report).data)


@extend_schema_view(
    list=document(
        summary="List the received events, newest first",
        description="Cursor pages: follow `next`. A bad filter or cursor is a 400 naming it.",
        parameters=[EventFilterSerializer],
        responses={200: EventListSerializer, **errors(400)},
    ),
    retrieve=document(
        summary="One event, with its payload and last error",
        responses={200: EventDetailSerializer, **errors(404)},
    ),
    process_again=document(
        summary="Run the event's receivers again",
        description="Even for a processed event; `skipped` when it is being processed right "
        "now, `gone` (and `event` null) when it was pruned meanwhile.",
        request=None,
        responses={200: ProcessAgainSerializer, **errors(404)},
    ),
)
class EventViewSet(ThinkificAPIMixin[ReceivedEvent], viewsets.ReadOnlyModelViewSet):
    """Received events, newest first; read-only except ``process-again``.

    List filters: ``topic``, ``status``, ``received_after`` (inclusive) and
    ``received_before`` (exclusive), ISO dates or date-times.
    """

    queryset = ReceivedEvent.objects.all()
    pagination_class = EventCursorPagination

    def get_serializer_class(self) -> type[EventListSerializer]:
        return EventListSerializer if self.action == "list" else EventDetailSerializer

    def get_queryset(self) -> QuerySet[ReceivedEvent]:
        queryset = super().get_queryset()
        if self.action != "list":
            return queryset
        # The list shows neither; not reading them keeps a page of big payloads cheap.
        queryset = queryset.defer("payload", "last_error")
        data = self.filter_params(EventFilterSerializer)
        if "topic" in data:
            queryset = queryset.filter(topic=data["topic"])
        if "status" in data:
            queryset = queryset.filter(status=data["status"])
        if "received_after" in data:
            queryset = queryset.filter(received_at__gte=data["received_after"])
        if "received_before" in data:
            queryset = queryset.filter(received_at__lt=data["received_before"])
        return queryset

    @action(detail=True, methods=["post"], url_path="process-again")
    def process_again(
        self, request: Request, pk: str | None = None, format: str | None = None
    ) -> Response:
        """Run the signals again (even for a processed event); skipped if running right now."""
        event = self.get_object()
        report = process_again([event])
        body: dict[str, Any] = {
            "processed": report.processed,
            "failed": report.failed,
            "skipped": report.skipped,
            "gone": report.gone,
            "event": None,
        }
        if not report.gone:
            body["event"] = ReceivedEvent.objects.filter(pk=event.pk).first()
        return Response(ProcessAgainSerializer(body).data)


class APIRootView(ThinkificAPIMixin[Model], routers.APIRootView):
    """The index of the API, guarded like the rest of it."""


class NotFoundView(ThinkificAPIMixin[Model], views.APIView):
    """Any other URL under the API: a 404 in JSON (after the same auth), not Django's HTML page."""

    _ignore_model_permissions = True  # no model here; IsAdminUser still guards it

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise NotFound()
