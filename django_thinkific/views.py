"""The webhook endpoint: HTTP in, HTTP out; the work is in ``services.receiving``."""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .compat import login_not_required
from .conf import get_settings
from .errors import BodyTooLarge, DeliveryRefused, LengthRequired
from .services.receiving import receive

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


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """The raw body; :class:`BodyTooLarge` when it is over ``limit`` (read no further than that).

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
            raise BodyTooLarge(f"body is larger than {limit} bytes")
        stream = request
    elif meta.get("wsgi.input_terminated") and "wsgi.input" in meta:
        stream = meta["wsgi.input"]
    elif "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and "wsgi.input" in meta:
        raise LengthRequired
    else:
        stream = request  # ASGI and test clients: the request's stream holds the whole body
    body = _read_up_to(stream, limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(f"body is larger than {limit} bytes")
    return body


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
def webhook(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":  # Django's require_POST answers with an empty HTML page
        response = _error(405, "Thinkific delivers webhooks by POST.")
        response["Allow"] = "POST"
        return response
    try:
        receipt = receive(
            _read_body(request, get_settings().max_body_size),
            signature=request.headers.get("X-Thinkific-Hmac-Sha256"),
            site=request.headers.get("X-Thinkific-Subdomain", ""),
            header_topic=request.headers.get("X-Thinkific-Topic", ""),
        )
    except DeliveryRefused as exc:
        return _refused(request, exc)
    body = json.dumps(
        {"id": receipt.event_id, "status": receipt.status, "duplicate": not receipt.created}
    )
    return HttpResponse(body, content_type="application/json")


def _refused(request: HttpRequest, exc: DeliveryRefused) -> JsonResponse:
    """The answer the error carries, logged as it says (the sender's address, never the body)."""
    if exc.log_level is not None:
        logger.log(
            exc.log_level,
            exc.log_message,
            {"client": client_ip(request), "reason": str(exc)},
            exc_info=exc if exc.log_traceback else None,
        )
    response = _error(exc.status_code, exc.detail)
    for name, value in exc.headers.items():
        response[name] = value
    return response
