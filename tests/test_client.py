"""The API client against ``responses``: retries, typed errors, odd answers, secrecy."""

import logging

import pytest
import requests
import responses

from django_thinkific import __version__
from django_thinkific.client import ThinkificClient, normalise_errors
from django_thinkific.errors import (
    APIConnectionError,
    AuthenticationFailed,
    BadResponse,
    NotFound,
    RateLimited,
    ServerError,
    ThinkificAPIError,
    ValidationFailed,
)

BASE = "https://api.thinkific.test/api/v2"
KEY = "sk_live_very_secret_key"
HOOK = {
    "id": "1",
    "topic": "order.created",
    "target_url": "https://shop.acme.io/h",
    "status": "active",
}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def client(sleeps):
    return ThinkificClient(api_key=KEY, base_url=BASE, timeout=3, sleep=sleeps.append)


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


@responses.activate
def test_429_then_success_honours_retry_after(client, sleeps):
    responses.add("GET", f"{BASE}/webhooks/1", status=429, headers={"Retry-After": "7"})
    responses.add("GET", f"{BASE}/webhooks/1", json=HOOK)
    assert client.get_webhook("1") == HOOK
    assert sleeps == [7.0]


@responses.activate
def test_429_on_post_is_retried_too(client, sleeps):
    responses.add("POST", f"{BASE}/webhooks", status=429, headers={"Retry-After": "1"})
    responses.add("POST", f"{BASE}/webhooks", status=201, json=HOOK)
    assert client.create_webhook(topic="order.created", target_url="https://shop.acme.io/h") == HOOK
    assert sleeps == [1.0]


@responses.activate
def test_429_until_retries_run_out_raises_rate_limited(client):
    responses.add("GET", f"{BASE}/webhooks/1", status=429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimited) as info:
        client.get_webhook("1")
    assert info.value.retry_after == 2.0
    assert len(responses.calls) == 4  # first try + 3 retries


@responses.activate
def test_429_with_a_long_retry_after_is_not_waited_for(client, sleeps):
    responses.add("GET", f"{BASE}/webhooks/1", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited, match=r"rate limiting"):
        client.get_webhook("1")
    assert sleeps == []


@responses.activate
def test_5xx_on_get_is_retried_with_growing_backoff(client, sleeps):
    responses.add("GET", f"{BASE}/webhooks/1", status=502)
    responses.add("GET", f"{BASE}/webhooks/1", status=503)
    responses.add("GET", f"{BASE}/webhooks/1", json=HOOK)
    assert client.get_webhook("1") == HOOK
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 0.75
    assert 1.0 <= sleeps[1] <= 1.5


@responses.activate
def test_500_on_post_is_not_retried(client, sleeps):
    responses.add("POST", f"{BASE}/webhooks", status=500)
    with pytest.raises(ServerError, match=r"server error \(500\)"):
        client.create_webhook(topic="order.created", target_url="https://shop.acme.io/h")
    assert len(responses.calls) == 1
    assert sleeps == []


@responses.activate
def test_persistent_5xx_raises_server_error(client):
    responses.add("DELETE", f"{BASE}/webhooks/1", status=500)
    with pytest.raises(ServerError):
        client.delete_webhook("1")
    assert len(responses.calls) == 4


@responses.activate
def test_connection_error_on_get_retried_then_raised(client):
    responses.add("GET", f"{BASE}/webhooks/1", body=requests.ConnectionError("refused"))
    with pytest.raises(APIConnectionError, match="could not be reached"):
        client.get_webhook("1")
    assert len(responses.calls) == 4


@responses.activate
def test_read_timeout_on_post_is_not_retried(client):
    responses.add("POST", f"{BASE}/webhooks", body=requests.ReadTimeout("slow"))
    with pytest.raises(APIConnectionError, match="did not answer within 3 seconds"):
        client.create_webhook(topic="order.created", target_url="https://shop.acme.io/h")
    assert len(responses.calls) == 1


@responses.activate
def test_connect_timeout_on_post_is_retried(client):
    responses.add("POST", f"{BASE}/webhooks", body=requests.ConnectTimeout("no route"))
    responses.add("POST", f"{BASE}/webhooks", status=201, json=HOOK)
    assert client.create_webhook(topic="order.created", target_url="https://shop.acme.io/h") == HOOK


@pytest.mark.parametrize("status", [401, 403])
@responses.activate
def test_refused_key_is_authentication_failed(client, status):
    responses.add("GET", f"{BASE}/webhooks", status=status, json={"error": "Unauthorized"})
    with pytest.raises(AuthenticationFailed) as info:
        list(client.list_webhooks())
    assert str(info.value) == f"Thinkific refused the API key ({status})"
    assert info.value.status == status
    assert len(responses.calls) == 1


@responses.activate
def test_404_is_not_found(client):
    responses.add("GET", f"{BASE}/events/9", status=404, json={"error": "Record not found."})
    with pytest.raises(NotFound):
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
