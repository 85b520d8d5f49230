"""The API client against ``responses``: its retry rules (one table), typed errors,
odd answers, and a key that never leaks."""

import logging
import math
import time
from dataclasses import dataclass
from email.utils import formatdate
from unittest import mock

import pytest
import requests
import responses
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from django_thinkific import __version__
from django_thinkific.client import MAX_RETRY_AFTER, ThinkificClient, normalise_errors
from django_thinkific.errors import (
    APIConnectionError,
    APIKeyRefused,
    BadResponse,
    RateLimited,
    RecordNotFound,
    ServerError,
    ThinkificAPIError,
    ValidationFailed,
)
from django_thinkific.services.subscriptions import _client_for
from django_thinkific.testing.fake_api import FakeThinkificAPI

BASE = "https://api.thinkific.test/api/v2"
KEY = "sk_live_very_secret_key"
HOOK = {
    "id": "1",
    "topic": "order.created",
    "target_url": "https://shop.acme.io/h",
    "status": "active",
}


@pytest.fixture
def client():
    """The real client; its pauses between retries are recorded by ``retry_pauses``."""
    return ThinkificClient(api_key=KEY, base_url=BASE, timeout=3)


@responses.activate
def test_headers_auth_user_agent_and_timeout(client):
    seen = {}

    def capture(request):
        seen.update(request.headers)
        seen["timeout"] = request.req_kwargs["timeout"]
        return 200, {}, b'{"id": "1"}'

    responses.add_callback("GET", f"{BASE}/webhooks/1", callback=capture)
    assert client.get_webhook("1") == {"id": "1"}
    assert seen["Authorization"] == f"Bearer {KEY}"
    assert seen["User-Agent"].startswith(f"django-thinkific/{__version__}")
    assert seen["timeout"] == 3


@responses.activate
def test_one_session_is_reused(client):
    responses.add("GET", f"{BASE}/webhooks/1", json=HOOK)
    client.get_webhook("1")
    session = client._session
    client.get_webhook("1")
    assert client._session is session
    assert isinstance(session, requests.Session)


# --- the retry rules, as one table -------------------------------------------------------
#
# 429: Thinkific did not act on the request, so every method is retried, after the wait
# Thinkific names (``Retry-After``, else ``RateLimit-Reset``: milliseconds until the reset
# or an epoch time) when it is at most MAX_RETRY_AFTER, else not at all; no usable wait:
# the client's own backoff. 5xx and connection failures: retried for GET, PUT and DELETE
# only; a POST that may have reached Thinkific is never repeated (a second webhook), one
# that never connected is. Three retries at most; backoff 0.5 s doubling, plus up to half
# again of jitter.

BACKOFF = [(0.5, 0.75), (1.0, 1.5), (2.0, 3.0)]  # the pauses before retries 1, 2 and 3
OK = "ok"  # the method's success answer
CALLS = {
    "GET": ("/webhooks/1", lambda c: c.get_webhook("1"), {"json": HOOK}, HOOK),
    "POST": (
        "/webhooks",
        lambda c: c.create_webhook(topic="order.created", target_url="https://shop.acme.io/h"),
        {"status": 201, "json": HOOK},
        HOOK,
    ),
    "PUT": (
        "/webhooks/1",
        lambda c: c.update_webhook("1", topic="order.created", target_url="https://shop.acme.io/h"),
        {"json": HOOK},
        HOOK,
    ),
    "DELETE": ("/webhooks/1", lambda c: c.delete_webhook("1"), {"status": 204}, None),
}


def limited(**headers):
    """A 429 with these headers (``Retry_After`` is ``Retry-After``); a value may be a
    function of the time now, for epoch times."""
    return {"status": 429, "headers": {k.replace("_", "-"): v for k, v in headers.items()}}


def in_(seconds):
    """An epoch time ``seconds`` from now (negative: already past), as a header value."""
    return lambda: str(int(time.time()) + seconds)


@dataclass(frozen=True)
class Rule:
    method: str
    answers: list  # what Thinkific answers, in turn; the last one again and again
    pauses: list  # the pauses before each retry: seconds, or a (low, high) range
    calls: int | None = None  # requests made; default: one per answer
    raises: type | None = None  # the error raised once the retries are over
    match: str | None = None
    retry_after: object = None  # the error's retry_after: seconds or a (low, high) range


def rule(name, method, answers, pauses, **outcome):
    return pytest.param(Rule(method, answers, pauses, **outcome), id=name)


#: Values of either header that are no wait: ignored, so the client's backoff applies.
GARBAGE = [
    "",
    "soon",
    "-5",
    "-0.5",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "1e400",
    "1e3",
    "0x10",
    "1_000",
    "\uff11\uff12",  # full-width digits: float() reads them, a header never carries them
    "\u0661\u0662",  # Arabic-Indic digits
    "12 34",
    "99999999999999999999999999999999999",  # epoch seconds in the year 10^27
    "1.",
    ".5",
]

RULES = [
    # 429 with Retry-After: every method, after the wait given
    rule("429-GET-retry-after", "GET", [limited(Retry_After="7"), OK], [7.0]),
    rule("429-POST-retry-after", "POST", [limited(Retry_After="1"), OK], [1.0]),
    rule("429-PUT-retry-after", "PUT", [limited(Retry_After="2"), OK], [2.0]),
    rule(
        "429-retry-after-http-date",
        "GET",
        [limited(Retry_After=lambda: formatdate(time.time() + 6, usegmt=True)), OK],
        [(4.0, 6.0)],
    ),
    rule(
        "429-until-the-retries-run-out",
        "GET",
        [limited(Retry_After="2")],
        [2.0, 2.0, 2.0],
        calls=4,  # the first try and 3 retries
        raises=RateLimited,
        retry_after=2.0,
    ),
    rule(
        "429-retry-after-too-long-is-not-waited",
        "GET",
        [limited(Retry_After="3600")],
        [],
        raises=RateLimited,
        match="rate limiting",
    ),
    # 429 with RateLimit-Reset: milliseconds until the reset, or an epoch time
    *(
        rule(
            f"429-reset-in-ms-{value.strip()}", "GET", [limited(RateLimit_Reset=value), OK], [wait]
        )
        for value, wait in [
            ("1500", 1.5),
            ("250", 0.25),
            ("0", 0.0),
            ("59999", 59.999),
            (" 800 ", 0.8),
            ("1500.0", 1.5),
        ]
    ),
    *(
        rule(
            f"429-reset-at-epoch-{ahead}s-ahead",
            "GET",
            [limited(RateLimit_Reset=in_(ahead)), OK],
            [(ahead - 2, ahead + 1)],
        )
        for ahead in (8, 30, 59)
    ),
    rule("429-reset-at-epoch-past", "GET", [limited(RateLimit_Reset=in_(-5)), OK], [0.0]),
    *(
        rule(
            f"429-reset-too-far-{name}",
            "GET",
            [limited(RateLimit_Reset=value)],
            [],
            raises=RateLimited,
            retry_after=(3590, 3600),
        )
        for name, value in [("an-hour-in-ms", "3600000"), ("an-hour-from-now", in_(3600))]
    ),
    rule(
        "429-retry-after-wins-over-reset",
        "GET",
        [limited(Retry_After="3", RateLimit_Reset="9000"), OK],
        [3.0],
    ),
    *(
        rule(
            f"429-garbage-{header}-{value!r}",
            "GET",
            [limited(**{header.replace("-", "_"): value}), OK],
            BACKOFF[:1],
        )
        for header in ("RateLimit-Reset", "Retry-After")
        for value in GARBAGE
    ),
    # 5xx: retried for idempotent methods only
    rule("5xx-GET-growing-backoff", "GET", [{"status": 502}, {"status": 503}, OK], BACKOFF[:2]),
    rule("5xx-PUT-retried", "PUT", [{"status": 503}, OK], BACKOFF[:1]),
    rule(
        "5xx-DELETE-until-the-retries-run-out",
        "DELETE",
        [{"status": 500}],
        BACKOFF,
        calls=4,
        raises=ServerError,
    ),
    rule(
        "5xx-POST-not-retried",
        "POST",
        [{"status": 500}],
        [],
        raises=ServerError,
        match=r"server error \(500\)",
    ),
    # connection failures: retried for idempotent methods, and a POST that never connected
    rule(
        "connection-error-GET-retried",
        "GET",
        [{"body": requests.ConnectionError("refused")}],
        BACKOFF,
        calls=4,
        raises=APIConnectionError,
        match="could not be reached",
    ),
    rule(
        "connection-error-POST-not-retried",
        "POST",
        [{"body": requests.ConnectionError("reset")}],
        [],
        raises=APIConnectionError,
    ),
    rule(
        "read-timeout-POST-not-retried",
        "POST",
        [{"body": requests.ReadTimeout("slow")}],
        [],
        raises=APIConnectionError,
        match="did not answer within 3 seconds",
    ),
    rule(
        "connect-timeout-POST-retried",
        "POST",
        [{"body": requests.ConnectTimeout("no route")}, OK],
        BACKOFF[:1],
    ),
]


def _within(value, expected):
    if isinstance(expected, tuple):
        low, high = expected
        return low <= value <= high
    return value == pytest.approx(expected)


@pytest.mark.parametrize("rule", RULES)
@responses.activate
def test_retry_rules(client, retry_pauses, rule):
    path, call, success, result = CALLS[rule.method]
    for answer in rule.answers:
        answer = success if answer == OK else answer
        headers = {k: v() if callable(v) else v for k, v in answer.get("headers", {}).items()}
        responses.add(rule.method, f"{BASE}{path}", **{**answer, "headers": headers})
    if rule.raises:
        with pytest.raises(rule.raises, match=rule.match) as info:
            call(client)
        if rule.retry_after is not None:
            assert _within(info.value.retry_after, rule.retry_after), info.value.retry_after
    else:
        assert call(client) == result
    assert len(responses.calls) == (rule.calls or len(rule.answers))
    assert len(retry_pauses) == len(rule.pauses), retry_pauses
    assert all(map(_within, retry_pauses, rule.pauses)), retry_pauses


@given(value=st.text(max_size=40) | st.from_regex(r"\A-?[0-9]{1,40}(\.[0-9]{0,5})?\Z"))
@example(value="1e400")
@example(value=str(2**1100))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_ratelimit_reset_gives_a_bounded_finite_wait_or_none(value):
    sleeps = []
    client = ThinkificClient(api_key=KEY, base_url=BASE, max_retries=1)
    pauses = mock.patch("django_thinkific.client.pause", sleeps.append)
    with pauses, responses.RequestsMock() as api:
        api.add("GET", f"{BASE}/webhooks/1", status=429, headers={"RateLimit-Reset": value})
        with pytest.raises(RateLimited) as info:
            client.get_webhook("1")
    wait = info.value.retry_after
    assert wait is None or (math.isfinite(wait) and 0 <= wait <= 86400)
    assert all(math.isfinite(s) and 0 <= s <= MAX_RETRY_AFTER for s in sleeps)


def test_a_429_of_the_fake_api_over_real_http_is_waited_for(retry_pauses):
    fake = FakeThinkificAPI(api_key=KEY)
    fake.add_webhook("order.created", "https://shop.acme.io/h")
    fake.fail_next(429, {"error": "Too many requests"}, headers={"RateLimit-Reset": "1200"})
    with fake.serve() as url:
        client = ThinkificClient(api_key=KEY, base_url=url)
        assert [w["topic"] for w in client.list_webhooks()] == ["order.created"]
        client.close()
    assert retry_pauses == [1.2]
    assert [c[0] for c in fake.calls] == ["GET", "GET"]


def test_rest_sync_answers_503_with_the_reset_as_retry_after(thinkific, retry_pauses, staff_api):
    fake = FakeThinkificAPI(api_key=KEY)
    reset = int(time.time()) + 600
    fake.fail_next(429, {"error": "Too many requests"}, headers={"RateLimit-Reset": str(reset)})
    with fake.serve() as url:
        thinkific(API_BASE_URL=url, API_KEY=KEY)
        _client_for.cache_clear()
        response = staff_api.post(reverse("django_thinkific:subscription-sync"))
    _client_for.cache_clear()
    assert response.status_code == 503
    assert 590 <= int(response["Retry-After"]) <= 600
    assert retry_pauses == []  # ten minutes is not waited for inside a request


# --- typed errors and odd answers ---------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_refused_key_is_authentication_failed(client, status):
    responses.add("GET", f"{BASE}/webhooks", status=status, json={"error": "Unauthorized"})
    with pytest.raises(APIKeyRefused) as info:
        list(client.list_webhooks())
    assert str(info.value) == f"Thinkific refused the API key ({status})"
    assert info.value.status == status
    assert len(responses.calls) == 1


@responses.activate
def test_404_is_not_found(client):
    responses.add("GET", f"{BASE}/events/9", status=404, json={"error": "Record not found."})
    with pytest.raises(RecordNotFound):
        client.get_event("9")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"errors": {"topic": "invalid format"}}, {"topic": ["invalid format"]}),
        ({"errors": {"url": "is not valid"}}, {"target_url": ["is not valid"]}),
        ({"errors": {"topic": ["invalid format"]}}, {"topic": ["invalid format"]}),
        (
            {"errors": [{"topic": "invalid format"}, {"url": "is not valid"}]},
            {"topic": ["invalid format"], "target_url": ["is not valid"]},
        ),
        ({"errors": ["Something is wrong"]}, {"__all__": ["Something is wrong"]}),
        ({"error": "Bad webhook"}, {"__all__": ["Bad webhook"]}),
        (None, {"__all__": ["is not valid"]}),
    ],
)
@responses.activate
def test_each_422_shape_is_normalised(client, body, expected):
    responses.add("POST", f"{BASE}/webhooks", status=422, json=body)
    with pytest.raises(ValidationFailed) as info:
        client.create_webhook(topic="x", target_url="y")
    assert info.value.errors == expected
    assert normalise_errors(body) == expected


@responses.activate
def test_malformed_json_is_bad_response(client):
    responses.add("GET", f"{BASE}/webhooks/1", body=b"<html>maintenance</html>", status=200)
    with pytest.raises(BadResponse, match="not JSON"):
        client.get_webhook("1")


@responses.activate
def test_list_without_meta_is_bad_response(client):
    responses.add("GET", f"{BASE}/webhooks", json={"items": []})
    with pytest.raises(BadResponse):
        list(client.list_webhooks())


@responses.activate
def test_list_follows_the_cursor_through_every_page(client):
    def page(items, next_page):
        meta = {"has_next": bool(next_page), "next_page": next_page, "total_items": 5}
        return {"items": items, "meta": {"page": meta}}

    responses.add(
        "GET",
        f"{BASE}/webhooks",
        json=page([{"id": "1"}, {"id": "2"}], "3"),
        match=[responses.matchers.query_param_matcher({"limit": "2"})],
    )
    responses.add(
        "GET",
        f"{BASE}/webhooks",
        json=page([{"id": "3"}, {"id": "4"}], "5"),
        match=[responses.matchers.query_param_matcher({"limit": "2", "next": "3"})],
    )
    responses.add(
        "GET",
        f"{BASE}/webhooks",
        json=page([{"id": "5"}], ""),
        match=[responses.matchers.query_param_matcher({"limit": "2", "next": "5"})],
    )
    assert [w["id"] for w in client.list_webhooks(limit=2)] == ["1", "2", "3", "4", "5"]


@responses.activate
def test_a_repeating_cursor_stops_instead_of_looping(client):
    loop = {"items": [{"id": "1"}], "meta": {"page": {"has_next": True, "next_page": "1"}}}
    responses.add("GET", f"{BASE}/webhooks", json=loop)
    with pytest.raises(BadResponse, match="twice"):
        list(client.list_webhooks())


@responses.activate
def test_the_key_never_appears_in_errors_logs_or_repr(client, caplog):
    responses.add("GET", f"{BASE}/webhooks/1", status=503)
    responses.add("GET", f"{BASE}/webhooks/2", status=401)
    with caplog.at_level(logging.DEBUG):
        for webhook_id in ("1", "2"):
            with pytest.raises(ThinkificAPIError) as info:
                client.get_webhook(webhook_id)
            assert KEY not in str(info.value)
            assert KEY not in repr(info.value)
    assert KEY not in caplog.text
    assert KEY not in repr(client)


@pytest.mark.parametrize("body", [{"no": "id"}, [1, 2], None])
@responses.activate
def test_create_answer_without_a_webhook_is_bad_response(client, body):
    responses.add("POST", f"{BASE}/webhooks", status=201, json=body)
    with pytest.raises(BadResponse, match="not a webhook"):
        client.create_webhook(topic="order.created", target_url="https://shop.acme.io/h")
