"""The fake Webhooks API follows the spec, over `responses`, real HTTP and a Django view."""

import json

import pytest
import requests

from django_thinkific.client import ThinkificClient
from django_thinkific.errors import APIKeyRefused, RecordNotFound, ValidationFailed
from django_thinkific.testing.fake_api import FakeThinkificAPI


def api(fake, method, path, **kwargs):
    """One authenticated request to the fake, as Thinkific's docs show them."""
    headers = {"Authorization": "Bearer test-api-key"}
    return requests.request(method, fake.base_url + path, headers=headers, timeout=5, **kwargs)


def test_pagination_matches_the_documented_shape(fake_api):
    for i in range(5):
        fake_api.add_webhook(
            "order.created", f"https://shop.acme.io/{i}", id=f"2019080714100632065658{i}"
        )
    client = ThinkificClient(api_key="test-api-key", base_url=fake_api.base_url)
    first = api(fake_api, "GET", "/webhooks?limit=2").json()
    assert first["meta"]["page"] == {
        "has_next": True,
        "next_page": "20190807141006320656582",  # the id of the next page's first webhook
        "page_items": 2,
        "total_items": 5,
        "total_pages": 3,
    }
    assert [w["id"][-1] for w in client.list_webhooks(limit=2)] == ["0", "1", "2", "3", "4"]
    assert [c[1] for c in fake_api.calls[-3:]] == [
        "/webhooks?limit=2",
        "/webhooks?limit=2&next=20190807141006320656582",
        "/webhooks?limit=2&next=20190807141006320656584",
    ]


def test_page_number_parameter_of_the_walkthrough(fake_api):
    for i in range(3):
        fake_api.add_webhook("order.created", f"https://shop.acme.io/{i}")
    body = api(fake_api, "GET", "/webhooks?page=2&limit=2").json()
    assert len(body["items"]) == 1
    assert body["meta"]["page"]["has_next"] is False
    assert body["meta"]["page"]["next_page"] == ""


def test_create_get_update_delete_statuses_and_bodies(fake_api):
    created = api(
        fake_api,
        "POST",
        "/webhooks",
        json={"topic": "order.created", "target_url": "https://shop.acme.io/h"},
    )
    assert created.status_code == 201
    hook = created.json()
    assert set(hook) == {
        "id",
        "status",
        "topic",
        "target_url",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    }
    assert len(hook["id"]) == 23
    url = f"/webhooks/{hook['id']}"
    assert api(fake_api, "GET", url).json() == hook
    put = api(
        fake_api, "PUT", url, json={"topic": "order.created", "target_url": "https://x.acme.io/"}
    )
    assert (put.status_code, put.json()["target_url"]) == (200, "https://x.acme.io/")
    assert api(fake_api, "DELETE", url).status_code == 204
    missing = api(fake_api, "DELETE", url)
    assert (missing.status_code, missing.json()) == (404, {"error": "Record not found."})
    assert api(fake_api, "GET", url).status_code == 404


def test_422_bodies_as_documented(fake_api):
    bad = api(
        fake_api, "POST", "/webhooks", json={"topic": "orders.made", "target_url": "http://x"}
    )
    assert bad.status_code == 422
    assert bad.json() == {"errors": {"topic": "invalid format", "url": "is not valid"}}
    hook = fake_api.add_webhook("order.created", "https://shop.acme.io/h")
    put = api(
        fake_api,
        "PUT",
        f"/webhooks/{hook['id']}",
        json={"topic": "nope", "target_url": "https://a.io"},
    )
    assert put.json() == {"errors": {"topic": ["invalid format"]}}


def test_wrong_key_is_401(fake_api):
    client = ThinkificClient(api_key="wrong", base_url=fake_api.base_url)
    with pytest.raises(APIKeyRefused) as info:
        list(client.list_webhooks())
    assert info.value.status == 401


def test_events_endpoint(fake_api):
    fake_api.add_event(
        {
            "id": "42",
            "resource": "order",
            "action": "created",
            "created_at": "x",
            "payload": {"a": 1},
        }
    )
    client = ThinkificClient(api_key="test-api-key", base_url=fake_api.base_url)
    assert client.get_event("42")["payload"] == {"a": 1}
    with pytest.raises(RecordNotFound):
        client.get_event("43")


def test_served_over_real_http():
    fake = FakeThinkificAPI(api_key="k")
    fake.add_webhook("order.created", "https://shop.acme.io/h")
    with fake.serve() as url:
        assert url.startswith("http://127.0.0.1:")
        client = ThinkificClient(api_key="k", base_url=url)
        assert [w["topic"] for w in client.list_webhooks()] == ["order.created"]
        with pytest.raises(ValidationFailed) as info:
            client.create_webhook(topic="order.created", target_url="https://localhost/h")
        assert info.value.errors == {"target_url": ["is not valid"]}
        client.close()


def test_fail_next_injects_errors_for_matching_requests(fake_api):
    fake_api.fail_next(500, {"error": "boom"}, only="GET /webhooks")
    assert (
        api(
            fake_api,
            "POST",
            "/webhooks",
            json={"topic": "order.created", "target_url": "https://a.io/"},
        ).status_code
        == 201
    )
    assert api(fake_api, "GET", "/webhooks").status_code == 500
    assert api(fake_api, "GET", "/webhooks").status_code == 200


def test_state_file_survives_a_restart(tmp_path):
    state = tmp_path / "fake.json"
    FakeThinkificAPI(state_file=state).add_webhook("order.created", "https://shop.acme.io/h")
    assert [w["topic"] for w in FakeThinkificAPI(state_file=state).webhooks.values()] == [
        "order.created"
    ]


def test_django_view_mount(rf):
    fake = FakeThinkificAPI(base_url="http://testserver/fake/api/v2", api_key="k")
    fake.add_webhook("order.created", "https://shop.acme.io/h")
    request = rf.get("/fake/api/v2/webhooks", {"limit": "10"}, HTTP_AUTHORIZATION="Bearer k")
    response = fake.django_view(request, "webhooks")
    assert response.status_code == 200
    assert json.loads(response.content)["meta"]["page"]["total_items"] == 1
