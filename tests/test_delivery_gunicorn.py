"""Deliveries as a real WSGI server hands them over: the example site under gunicorn.

``RequestFactory`` and the test client build a ``WSGIRequest`` whose input
already holds the body with its length; a server decides for itself what a
chunked body (no ``Content-Length``) or a non-ASCII header becomes. These tests
send raw HTTP to gunicorn and check what was answered and stored.
"""

from __future__ import annotations

import http.client
import json

import pytest

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import sample_event, sign
from tests.settings import API_KEY
from tests.stack import ExampleStack

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PATH = "/thinkific/webhooks/"
LIMIT = 1024 * 1024  # the example site's MAX_BODY_SIZE (the default)


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker):
    """The example site under gunicorn (sync dispatch) on the test database, for the module."""
    stack = ExampleStack.on_test_database(THINKIFIC_DISPATCH="sync")
    try:
        stack.start_web(workers=1)
        yield stack
    finally:
        stack.stop()


def post(
    site: ExampleStack, body: bytes, *, chunked: bool, headers: dict[str, bytes | str]
) -> tuple[int, bytes]:
    """One POST over a fresh connection; ``chunked`` sends no Content-Length."""
    conn = http.client.HTTPConnection("127.0.0.1", site.port, timeout=20)
    try:
        conn.putrequest("POST", PATH)
        for name, value in headers.items():
            conn.putheader(name, value)
        if chunked:
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for start in range(0, len(body), 16 * 1024):
                piece = body[start : start + 16 * 1024]
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def signed(event: dict) -> tuple[bytes, dict[str, bytes | str]]:
    body = json.dumps(event).encode()
    return body, {
        "Content-Type": "application/json",
        "X-Thinkific-Hmac-Sha256": sign(body, API_KEY),
    }


def test_a_chunked_delivery_is_verified_over_its_real_bytes(site):
    event = sample_event("order.created")
    body, headers = signed(event)
    status, answer = post(site, body, chunked=True, headers=headers)
    assert status == 200, answer
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert stored.payload == event["payload"]
    # A chunked body signed for other bytes is still refused.
    forged = body.replace(b"order", b"Order", 1)
    status, _ = post(site, forged, chunked=True, headers=headers)
    assert status == 401


def test_a_chunked_body_of_exactly_the_limit_is_read_whole(site):
    event = sample_event("order.created")
    event["payload"]["note"] = ""
    padding = LIMIT - len(json.dumps(event).encode())
    event["payload"]["note"] = "x" * padding
    body, headers = signed(event)
    assert len(body) == LIMIT
    status, answer = post(site, body, chunked=True, headers=headers)
    assert status == 200, answer
    assert len(ReceivedEvent.objects.get(event_id=event["id"]).payload["note"]) == padding


def test_a_chunked_body_over_the_limit_is_413(site):
    event = sample_event("order.created", payload={"note": "x" * LIMIT})
    body, headers = signed(event)
    status, answer = post(site, body, chunked=True, headers=headers)
    assert status == 413, answer
    assert b"larger than" in answer
    assert not ReceivedEvent.objects.filter(event_id=event["id"]).exists()


def test_a_utf8_subdomain_header_is_stored_as_sent(site):
    event = sample_event("order.created")
    body, headers = signed(event)
    headers["X-Thinkific-Subdomain"] = "académie-ü".encode()
    headers["X-Thinkific-Topic"] = "order.créé".encode()
    status, answer = post(site, body, chunked=False, headers=headers)
    assert status == 200, answer
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert (stored.site, stored.header_topic) == ("académie-ü", "order.créé")


def test_a_header_that_is_not_utf8_is_kept_readable(site):
    event = sample_event("order.created")
    body, headers = signed(event)
    headers["X-Thinkific-Subdomain"] = b"caf\xe9-\xff"  # latin-1, not UTF-8
    status, answer = post(site, body, chunked=False, headers=headers)
    assert status == 200, answer
    stored = ReceivedEvent.objects.get(event_id=event["id"])
    assert stored.site == "café-ÿ"
