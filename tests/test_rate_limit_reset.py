"""429 with ``RateLimit-Reset`` (issue 10, item 18).

Thinkific's rate-limit documentation (120 requests a minute) names
``RateLimit-Reset``, given on one page as an epoch time and on another as
milliseconds until the reset, and not ``Retry-After``. Both forms are honoured,
bounded as ``Retry-After`` is; values that are neither are ignored.
"""

import math
import time

import pytest
import responses
from django.contrib.auth import get_user_model
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from django_thinkific.client import MAX_RETRY_AFTER, ThinkificClient
from django_thinkific.errors import RateLimited
from django_thinkific.services.subscriptions import _client_for
from django_thinkific.testing.fake_api import FakeThinkificAPI

BASE = "https://api.thinkific.test/api/v2"
KEY = "sk_live_rate_limited"
HOOK = {"id": "1", "topic": "order.created", "target_url": "https://shop.acme.io/h"}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return ThinkificClient(api_key=KEY, base_url=BASE, sleep=sleeps.append)


def limited_then_ok(headers):
    responses.add("GET", f"{BASE}/webhooks/1", status=429, headers=headers)
    responses.add("GET", f"{BASE}/webhooks/1", json=HOOK)


@pytest.mark.parametrize(
    ("value", "wait"),
    [
        ("1500", 1.5),  # milliseconds until the reset
        ("250", 0.25),
        ("0", 0.0),
        ("59999", 59.999),
        (" 800 ", 0.8),
        ("1500.0", 1.5),
    ],
)
@responses.activate
def test_milliseconds_until_the_reset_are_waited(client, sleeps, value, wait):
    limited_then_ok({"RateLimit-Reset": value})
    assert client.get_webhook("1") == HOOK
    assert sleeps == [pytest.approx(wait)]


@pytest.mark.parametrize("ahead", [8, 30, 59])
@responses.activate
def test_an_epoch_time_is_waited_until(client, sleeps, ahead):
    reset = int(time.time()) + ahead
    limited_then_ok({"RateLimit-Reset": str(reset)})
    assert client.get_webhook("1") == HOOK
    assert len(sleeps) == 1
    assert ahead - 2 <= sleeps[0] <= ahead + 1


@responses.activate
def test_an_epoch_time_already_past_is_retried_at_once(client, sleeps):
    limited_then_ok({"RateLimit-Reset": str(int(time.time()) - 5)})
    assert client.get_webhook("1") == HOOK
    assert sleeps == [0.0]


@pytest.mark.parametrize("value", ["3600000", "+3600"])  # an hour in ms; an hour from now
@responses.activate
def test_a_reset_too_far_away_is_not_waited_for(client, sleeps, value):
    if value.startswith("+"):
        value = str(int(time.time()) + 3600)
    responses.add("GET", f"{BASE}/webhooks/1", status=429, headers={"RateLimit-Reset": value})
    with pytest.raises(RateLimited) as info:
        client.get_webhook("1")
    assert sleeps == []
    assert len(responses.calls) == 1
    assert 3590 <= info.value.retry_after <= 3600


@responses.activate
def test_retry_after_wins_over_ratelimit_reset(client, sleeps):
    limited_then_ok({"Retry-After": "3", "RateLimit-Reset": "9000"})
    assert client.get_webhook("1") == HOOK
    assert sleeps == [3.0]


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


@pytest.mark.parametrize("value", GARBAGE)
@pytest.mark.parametrize("header", ["RateLimit-Reset", "Retry-After"])
@responses.activate
def test_garbage_values_are_ignored_and_backoff_applies(client, sleeps, header, value):
    limited_then_ok({header: value})
    assert client.get_webhook("1") == HOOK
    assert len(sleeps) == 1
    assert 0.5 <= sleeps[0] <= 0.75  # the client's own backoff, as without a header


@given(value=st.text(max_size=40) | st.from_regex(r"\A-?[0-9]{1,40}(\.[0-9]{0,5})?\Z"))
@example(value="1e400")
@example(value=str(2**1100))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_header_value_gives_a_bounded_finite_wait_or_none(value):
    sleeps = []
    client = ThinkificClient(api_key=KEY, base_url=BASE, sleep=sleeps.append, max_retries=1)
    with responses.RequestsMock() as mock:
        mock.add("GET", f"{BASE}/webhooks/1", status=429, headers={"RateLimit-Reset": value})
        with pytest.raises(RateLimited) as info:
            client.get_webhook("1")
    wait = info.value.retry_after
    assert wait is None or (math.isfinite(wait) and 0 <= wait <= 86400)
    assert all(math.isfinite(s) and 0 <= s <= MAX_RETRY_AFTER for s in sleeps)


# --- over real HTTP, with the fake API emitting the 429 -------------------------------


def test_the_fake_api_over_real_http_is_waited_for(retry_pauses):
    fake = FakeThinkificAPI(api_key=KEY)
    fake.add_webhook("order.created", "https://shop.acme.io/h")
    fake.fail_next(429, {"error": "Too many requests"}, headers={"RateLimit-Reset": "1200"})
    with fake.serve() as url:
        client = ThinkificClient(api_key=KEY, base_url=url)
        assert [w["topic"] for w in client.list_webhooks()] == ["order.created"]
        client.close()
    assert retry_pauses == [1.2]
    assert [c[0] for c in fake.calls] == ["GET", "GET"]


@pytest.mark.django_db
def test_rest_sync_answers_503_with_the_reset_as_retry_after(thinkific, retry_pauses):
    fake = FakeThinkificAPI(api_key=KEY)
    reset = int(time.time()) + 600
    fake.fail_next(429, {"error": "Too many requests"}, headers={"RateLimit-Reset": str(reset)})
    user = get_user_model().objects.create_superuser("root", password="root-pw")
    api = APIClient()
    api.force_login(user)
    with fake.serve() as url:
        thinkific(API_BASE_URL=url, API_KEY=KEY)
        _client_for.cache_clear()
        response = api.post(reverse("django_thinkific:subscription-sync"))
    _client_for.cache_clear()
    assert response.status_code == 503
    assert 590 <= int(response["Retry-After"]) <= 600
    assert retry_pauses == []  # ten minutes is not waited for inside a request
