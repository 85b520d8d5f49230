"""The webhook endpoint: HTTP in, HTTP out; the work is in ``services.receiving``."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .compat import login_not_required
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


class LengthRequired(Exception):
    """A chunked body the WSGI server did not decode, so the view cannot read it."""


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or ``None`` when it is over ``limit`` (read no further than that).

    Without a ``Content-Length`` (a chunked body) Django's ``WSGIRequest``
    reads nothing: it wraps the input in a stream limited to 0 bytes. A WSGI
    server that decodes the chunks itself says so with
    ``wsgi.input_terminated`` (gunicorn does); then its input is read
    directly, to its end or ``limit + 1`` bytes. A server that does not
    (``runserver``, ``wsgiref``) leaves the body unreadable: that is
    :class:`LengthRequired`, never a body verified as empty.
    """
    meta = request.META
    if meta.get("CONTENT_LENGTH"):
        try:
            declared = int(meta["CONTENT_LENGTH"])
        except ValueError:
            declared = 0
        if declared > limit:
            return None
        stream = request
    elif meta.get("wsgi.input_terminated") and "wsgi.input" in meta:
        stream = meta["wsgi.input"]
    elif "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and "wsgi.input" in meta:
        raise LengthRequired
    else:
        stream = request  # ASGI and test clients: the request's stream holds the whole body
    body = _read_up_to(stream, limit + 1)
    return None if len(body) > limit else body


def _read_up_to(stream: Any, size: int) -> bytes:
    # A server's input may return less than asked before its end (chunk by chunk).
    parts: list[bytes] = []
    while size > 0:
        part = stream.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


@login_not_required  # Thinkific never logs in (LoginRequiredMiddleware, Django 5.1+)
@csrf_exempt
@transaction.non_atomic_requests  # the event must commit even if a receiver fails
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    limit = get_settings().max_body_size
    try:
        body = _read_body(request, limit)
    except LengthRequired:
        return _error(411, "a chunked body cannot be read by this server; send a Content-Length")
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
    answer = json.dumps(
        {"id": receipt.event_id, "status": receipt.status, "duplicate": not receipt.created}
    )
    return HttpResponse(answer, content_type="application/json")
