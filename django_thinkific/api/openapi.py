"""What the OpenAPI schema says about the answers, beyond what the serializers show.

The error bodies are DRF's own (its default exception handler): ``{"detail": ...}``
for a refusal, ``{field: [messages]}`` for a bad body or filter, and
:mod:`.exceptions` decides which status a Thinkific failure becomes. The views
name, per action, the statuses it can answer with; this module says once what
each of them looks like. Only ``drf_spectacular`` is imported here, never a view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

_F = TypeVar("_F", bound=Callable[..., Any])

#: ``{"detail": "..."}``: every refusal that is not about a field.
DETAIL_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
#: ``{"field": ["message", ...]}``; ``non_field_errors`` for the body as a whole.
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "minProperties": 1,
}
#: For ``SPECTACULAR_SETTINGS['APPEND_COMPONENTS']``: the error bodies, named once.
COMPONENTS = {"schemas": {"Detail": DETAIL_SCHEMA, "FieldErrors": FIELD_ERRORS_SCHEMA}}
DETAIL = {"$ref": "#/components/schemas/Detail"}
FIELD_ERRORS = {"$ref": "#/components/schemas/FieldErrors"}

_DESCRIPTIONS = {
    400: "The request is malformed: a body that is not JSON (`detail`), or a field or query "
    "parameter with a bad value (`{field: [messages]}`, `non_field_errors` for the body).",
    401: "No credentials, or wrong ones (HTTP Basic or the site's session).",
    403: "Not allowed: the user is not staff, lacks the model permission the action needs, "
    "or a browser's unsafe request failed the CSRF or origin check.",
    404: "No such row (a path segment that is not a positive id names none), a page past the "
    "last one, or a webhook Thinkific no longer has (deleted there: run a sync).",
    415: "The body is not `application/json`.",
    422: "Thinkific's rules refuse the webhook (checked here first, or by Thinkific): "
    "`{field: [messages]}` with Thinkific's own messages.",
    502: "Thinkific failed this site: unreachable, a 5xx, an unexpected answer, or it refused "
    "the site's API key. Not the caller's fault; nothing changed here.",
    503: "Temporarily unavailable: Thinkific is rate limiting (`Retry-After` says how long to "
    "wait, when Thinkific said) or has disabled the API, or no webhook secret is configured.",
}

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    description="Seconds to wait before trying again, when Thinkific said how long.",
    response=[503],
)
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The HTTP Basic challenge, `Basic realm="api"`.',
    response=[401],
)
#: The response headers of the errors, for ``extend_schema(parameters=...)``.
ERROR_HEADERS = [RETRY_AFTER, WWW_AUTHENTICATE]


def document(**kwargs: Any) -> Callable[[_F], _F]:
    """``extend_schema`` built on drf-spectacular's ``AutoSchema``.

    drf-spectacular's own decorator builds on the site's
    ``REST_FRAMEWORK['DEFAULT_SCHEMA_CLASS']`` (DRF's ``AutoSchema`` unless the site
    set drf-spectacular's), which cannot make this schema; an explicit ``schema`` on the
    method is what it builds on instead. For ``extend_schema_view(action=document(...))``.
    """
    kwargs["parameters"] = [*kwargs.get("parameters", ()), *ERROR_HEADERS]
    inner = extend_schema(**kwargs)

    def decorator(method: _F) -> _F:
        if not getattr(method, "schema", None):
            method.schema = AutoSchema  # type: ignore[attr-defined]
        return inner(method)

    return decorator


def _body(status: int) -> dict[str, Any]:
    if status == 400:
        return {"anyOf": [FIELD_ERRORS, DETAIL]}
    if status == 422:
        return FIELD_ERRORS
    return DETAIL


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error answers of an action: 401 and 403 always, then ``statuses``."""
    return {
        status: OpenApiResponse(_body(status), description=_DESCRIPTIONS[status])
        for status in sorted({401, 403, *statuses})
    }


#: Statuses of an action that calls Thinkific's Webhooks API.
UPSTREAM = (502, 503)
