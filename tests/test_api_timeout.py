"""API_TIMEOUT: "seconds to wait for each API call", as a total for the whole exchange.

An answer that trickles in a byte at a time (headers or body) is cut off at the
deadline, on the sync, the REST API, the admin and send-test alike; a POST that
trickles is not sent twice; an answer slow but in time is read. E008: the value must
be a number of seconds the socket layer can wait.
"""

import json as _json
import socket
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_thinkific.client import ThinkificClient
from django_thinkific.conf import get_settings
from django_thinkific.errors import APIConnectionError
from django_thinkific.services import subscriptions
from tests.factories import SubscriptionFactory
from tests.helpers import app_checks

pytestmark = pytest.mark.django_db

EMPTY_LIST = _json.dumps({"items": [], "meta": {"page": {"has_next": False, "next_page": ""}}})


class TricklingAPI:
    """Answers every request (one thread each) a byte every ``gap`` seconds, for a bounded time.

    ``what="body"``: the status line and headers at once, then the body byte by byte;
    ``what="headers"``: the whole answer byte by byte, status line included.
    """

    def __init__(self, *, gap=0.25, what="body", pad=40, close=False, max_seconds=12.0):
        self.gap, self.what, self.close, self.max_seconds = gap, what, close, max_seconds
        self.body = (EMPTY_LIST + " " * pad).encode()  # more bytes to trickle
        self.requests = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/api/v2"
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]

    def _accept(self):
        deadline = time.monotonic() + self.max_seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            thread = threading.Thread(target=self._answer, args=(conn, deadline), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _answer(self, conn, deadline):
        with conn:
            conn.settimeout(1)
            try:
                self.requests.append(conn.recv(65536).split(b" ", 1)[0].decode())
                head = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + (b"Connection: close\r\n" if self.close else b"")
                    + b"Content-Length: "
                    + str(len(self.body)).encode()
                    + b"\r\n\r\n"
                )
                if self.what == "body":
                    conn.sendall(head)
                    slow = self.body
                else:
                    slow = head + self.body
                for byte in slow:
                    if self.stop.is_set() or time.monotonic() > deadline:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(self.gap)
            except OSError:
                pass  # the client gave up

    def __enter__(self):
        self.threads[0].start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in list(self.threads):
            thread.join(5)
        self.sock.close()


@pytest.mark.parametrize("what", ["body", "headers"])
def test_api_timeout_bounds_an_api_call_that_trickles(thinkific, retry_pauses, what):
    with TricklingAPI(what=what) as server:
        thinkific(API_BASE_URL=server.url, API_TIMEOUT=1)
        subscriptions._client_for.cache_clear()
        started = time.monotonic()
        try:
            with pytest.raises(CommandError, match="did not answer within 1 seconds"):
                call_command("thinkific_sync")
        finally:
            subscriptions._client_for.cache_clear()
        elapsed = time.monotonic() - started
    # A GET is retried (3 times, the pauses recorded, not slept): 4 calls of at most 1 s,
    # where each read's own timeout allowed 1 s per byte (~25 s a call).
    assert len(retry_pauses) == 3
    assert elapsed < 6, f"4 calls took {elapsed:.1f} s with API_TIMEOUT = 1"
    assert elapsed > 3.5  # each call waited its full second: the limit is not cut short


def test_a_post_that_trickles_is_bounded_and_not_sent_twice(retry_pauses):
    key = "sk-trickle-0123456789"
    with TricklingAPI() as server:
        client = ThinkificClient(api_key=key, base_url=server.url, timeout=1)
        started = time.monotonic()
        with pytest.raises(APIConnectionError, match="did not answer within 1 seconds") as info:
            client.create_webhook(topic="order.created", target_url="https://a.acme.io/h")
        elapsed = time.monotonic() - started
        client.close()
    assert elapsed < 3
    assert server.requests == ["POST"]  # it reached Thinkific: never repeated
    assert retry_pauses == []
    assert key not in str(info.value)


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "connection-close"])
def test_an_answer_that_comes_slowly_but_in_time_is_read(close):
    with TricklingAPI(gap=0.005, pad=0, close=close) as server:
        client = ThinkificClient(api_key="sk-slow", base_url=server.url, timeout=5)
        assert list(client.list_webhooks()) == []
        assert list(client.list_webhooks()) == []  # the connection (or a new one) again
        client.close()
    assert server.requests == ["GET", "GET"]


@pytest.mark.parametrize("what", ["body", "headers"])
def test_the_send_test_limit_is_a_total_for_a_target_that_trickles(thinkific, monkeypatch, what):
    # SECURITY.md: send-test waits at most its limit (5 s; 1 s here) in all, not per read.
    thinkific(ALLOW_INSECURE_TARGETS=True)
    monkeypatch.setattr("django_thinkific.services.sending.TIMEOUT", 1.0)
    with TricklingAPI(what=what) as target:
        sub = SubscriptionFactory(target_url=f"http://localhost:{target.port}/hook")
        started = time.monotonic()
        with pytest.raises(CommandError, match="no answer within 1 seconds"):
            call_command("thinkific_send_test", str(sub.pk))
        elapsed = time.monotonic() - started
    assert target.requests == ["POST"]
    assert elapsed < 3, f"send-test took {elapsed:.1f} s with a 1 s limit"


# --- E008: API_TIMEOUT must be a number of seconds the socket layer can wait ----------------


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), float("-inf"), 10**10, 0, -1, "10", True],
    ids=["nan", "inf", "-inf", "past-the-clock", "zero", "negative", "text", "bool"],
)
def test_an_api_timeout_that_is_not_a_positive_number_is_e008(thinkific, value):
    # README: "E008 | API_TIMEOUT is not a positive number". NaN is not; neither is an
    # infinite wait, which the socket layer refuses (as it refuses 10**10 s, past its
    # clock): every API call would then fail.
    thinkific(API_TIMEOUT=value)
    assert "django_thinkific.E008" in {m.id for m in app_checks()}
    assert get_settings().api_timeout == 10.0  # the calls use the default meanwhile


@pytest.mark.parametrize("value", [0.1, 1, 2.5, 86400])
def test_an_api_timeout_from_a_tenth_of_a_second_to_a_day_passes(thinkific, value):
    thinkific(API_TIMEOUT=value)
    assert "django_thinkific.E008" not in {m.id for m in app_checks()}
    assert get_settings().api_timeout == float(value)
