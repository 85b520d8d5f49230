"""The API's OpenAPI 3 schema (drf-spectacular) and its Swagger UI, served by the app itself.

Nothing here needs the site to configure drf-spectacular: the views carry their
own ``AutoSchema`` (see :class:`~.views.ThinkificAPIMixin`), the generator applies
the app's own settings (:data:`SCHEMA_SETTINGS`) and keeps only the app's API, and
Swagger UI's files come from ``drf-spectacular-sidecar`` through :class:`DocsAssetView`,
so neither ``drf_spectacular`` nor the sidecar has to be in ``INSTALLED_APPS``
and the page loads nothing from another host.

The same generator makes the file offline (``drf_spectacular`` in ``INSTALLED_APPS``
for the command only)::

    manage.py spectacular --generator-class django_thinkific.api.schema.SchemaGenerator \\
        --validate --fail-on-warn --file thinkific-api.yaml
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import drf_spectacular_sidecar
from django.conf import settings
from django.http import FileResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from drf_spectacular import generators
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.settings import patched_settings
from drf_spectacular.views import SpectacularAPIView
from rest_framework import views
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .. import __version__
from ..topics import TOPICS
from .openapi import COMPONENTS
from .views import EventViewSet, SubscriptionViewSet, ThinkificAPIMixin

#: The sidecar's copy of Swagger UI, and the files of it the page loads.
SWAGGER_UI_DIST = (
    Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar/swagger-ui-dist"
)
DOCS_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"})


def only_this_api(endpoints: list[tuple[Any, ...]], **kwargs: Any) -> list[tuple[Any, ...]]:
    """Keep the subscriptions and events routes: not the site's other views, the API's
    index, its JSON 404 or the schema itself, nor the ``.json`` twin of each route."""
    return [
        (path, regex, method, callback)
        for path, regex, method, callback in endpoints
        if getattr(callback, "cls", None) in (SubscriptionViewSet, EventViewSet)
        and not path.endswith(".{format}")
    ]


def blank_queries_allowed(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A blank query parameter (``?topic=``) is no filter, the first page or the default
    page size, as if absent: say so (``allowEmptyValue``) on every one of them."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") == "query":
                    parameter["allowEmptyValue"] = True
    return result


#: drf-spectacular settings of this schema, whatever the site's ``SPECTACULAR_SETTINGS``.
SCHEMA_SETTINGS: dict[str, Any] = {
    "TITLE": "django-thinkific staff API",
    "VERSION": __version__,
    "DESCRIPTION": (
        "Thinkific webhook subscriptions and the received events, for staff. Changes to a "
        "subscription go to Thinkific's Webhooks API first, then to this site's database. "
        "Authentication: HTTP Basic or the site's session (with its CSRF token on unsafe "
        "requests); a user needs `THINKIFIC['REST_PERMISSION_CLASSES']` (by default: staff, "
        "and the admin's model permission for the action). Errors are DRF's: "
        '`{"detail": "..."}`, or `{"field": ["message"]}` for a bad field or filter.'
    ),
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["django_thinkific.api.schema.only_this_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "django_thinkific.api.schema.blank_queries_allowed",
    ],
    "SCHEMA_PATH_PREFIX": None,
    "ENUM_NAME_OVERRIDES": {},
    "APPEND_COMPONENTS": COMPONENTS,
    # A site's narrower lists would hide how this API authenticates, answers or parses.
    "AUTHENTICATION_WHITELIST": None,
    "RENDERER_WHITELIST": None,
    "PARSER_WHITELIST": None,
    "COMPONENT_NO_READ_ONLY_REQUIRED": False,
}


class SchemaGenerator(generators.SchemaGenerator):
    """drf-spectacular's generator with :data:`SCHEMA_SETTINGS` applied."""

    def get_schema(self, request: Any = None, public: bool = False) -> dict[str, Any]:
        with patched_settings(SCHEMA_SETTINGS):
            schema: dict[str, Any] = super().get_schema(request=request, public=public)
        return schema


class BasicAuthScheme(OpenApiAuthenticationExtension):
    """The API's HTTP Basic (refusing cross-site browser requests) is HTTP Basic."""

    target_class = "django_thinkific.api.views.BrowserSafeBasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "basic"}


class TopicFieldSchema(OpenApiSerializerFieldExtension):
    """A request's topic is one of the known topics (else 422, by the service's rule);
    an answer's may be any text: a synced webhook keeps what Thinkific reported."""

    target_class = "django_thinkific.api.serializers.TopicField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["enum"] = sorted(TOPICS)
        return schema


class TargetURLFieldSchema(OpenApiSerializerFieldExtension):
    """What a request's target URL needs, as far as a schema can say (the rest: 422)."""

    target_class = "django_thinkific.api.serializers.TargetURLField"

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema.update(
                format="uri",
                pattern="^https?://",
                description="https, on a public host name that Thinkific accepts (else 422); "
                "http and loopback only where ALLOW_INSECURE_TARGETS is on.",
            )
        return schema


class JSONErrorsMixin:
    """Refusals in JSON, whatever format the page itself is in (YAML, HTML)."""

    def handle_exception(self, exc: Exception) -> Response:
        request = self.request  # type: ignore[attr-defined]
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        return response


def _namespaced(request: Request, name: str) -> str:
    namespace = request.resolver_match.namespace if request.resolver_match else ""
    return reverse(f"{namespace}:{name}" if namespace else name)


class SchemaView(JSONErrorsMixin, ThinkificAPIMixin[Any], SpectacularAPIView):
    """``GET <mount>/api/schema/``: YAML, or JSON with ``?format=json`` or
    ``Accept: application/vnd.oai.openapi+json`` (or ``application/json``)."""

    _ignore_model_permissions = True  # no model here; IsAdminUser still guards it
    generator_class = SchemaGenerator
    serve_public = True  # the whole API, not only what this user may do
    urlconf = None
    custom_settings = None


class DocsView(JSONErrorsMixin, ThinkificAPIMixin[Any], views.APIView):
    """``GET <mount>/api/docs/``: Swagger UI on the schema, from this site's own files."""

    _ignore_model_permissions = True
    renderer_classes = (TemplateHTMLRenderer,)

    def get(self, request: Request) -> Response:
        return Response(
            {
                "title": SCHEMA_SETTINGS["TITLE"],
                "schema_url": _namespaced(request, "api-schema") + "?format=json",
                "asset_url": _namespaced(request, "api-docs") + "assets/",
                "csrf_token": get_token(request._request),
                # The header DRF's CSRF check reads: settings.CSRF_HEADER_NAME as sent.
                "csrf_header": settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-"),
            },
            template_name="django_thinkific/api/docs.html",
        )


class DocsAssetView(JSONErrorsMixin, ThinkificAPIMixin[Any], views.APIView):
    """Swagger UI's own files, from the installed ``drf-spectacular-sidecar``."""

    _ignore_model_permissions = True

    def get(self, request: Request, name: str) -> FileResponse:
        if name not in DOCS_ASSETS:
            raise NotFound()
        path = SWAGGER_UI_DIST / name
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = FileResponse(path.open("rb"), content_type=content_type)
        response["Cache-Control"] = "private, max-age=86400"
        return response
