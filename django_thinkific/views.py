"""The webhook endpoint: HTTP in, HTTP out; the work is in ``services.receiving``."""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .conf import get_settings
from .services.envelope import EnvelopeError
from .services.receiving import InFlight, SignatureError, StorageUnavailable, receive

logger = logging.getLogger("django_thinkific.webhooks")


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def client_ip(request: HttpRequest) -> str:
    """The address to log: ``REMOTE_ADDR`` unless the site names its proxy's header.

    Headers such as X-Forwarded-For are set by whoever sends the request, so
    they are trusted only when ``CLIENT_IP_HEADER`` says the site's own proxy
    writes one; then the right-most entry (the one that proxy added) is used.
    """
    header = get_settings().client_ip_header
    if header:
        value = request.META.get(header, "")
        last = value.rsplit(",", 1)[-1].strip()
        if last:
            return last[:100]
    return request.META.get("REMOTE_ADDR", "?")


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or ``None`` when it is over ``limit`` (read no further than that)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


@csrf_exempt
@transaction.non_atomic_requests  # the event must commit even if a receiver fails
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    limit = get_settings().max_body_size
    body = _read_body(request, limit)
    if body is None:
        return _error(413, f"body is larger than {limit} bytes")
    try:
        receipt = receive(
            body,
            signature=request.headers.get("X-Thinkific-Hmac-Sha256"),
            site=request.headers.get("X-Thinkific-Subdomain", ""),
            header_topic=request.headers.get("X-Thinkific-Topic", ""),
        )
    except SignatureError as exc:
        logger.warning(
            "Refused a Thinkific delivery from %s: %s signature",
            client_ip(request),
            exc,
        )
        return _error(401, "invalid signature")
    except EnvelopeError as exc:
        return _error(400, str(exc))
    except InFlight:
        response = _error(503, "event is being processed; retry later")
        response["Retry-After"] = "10"
        return response
    except StorageUnavailable:
        logger.exception("Could not store a Thinkific delivery; answering 503 so it is retried")
        return _error(503, "event could not be stored, retry later")
    body = json.dumps(
        {"id": receipt.event_id, "status": receipt.status, "duplicate": not receipt.created}
    )
    return HttpResponse(body, content_type="application/json")
