"""The staff REST API, driven over HTTP as a client would, against the fake Thinkific API."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.test import APIClient

from django_thinkific.models import ReceivedEvent, Subscription
from django_thinkific.signals import webhook_received
from django_thinkific.testing import capture_events, sign
from tests import settings as test_settings
from tests.factories import ReceivedEventFactory, SubscriptionFactory, staff_user
from tests.helpers import app_check_ids, basic

pytestmark = pytest.mark.django_db

URL = "https://shop.acme.io/hook"
OTHER_URL = "https://b.acme.io/hook"
API_KEY = test_settings.API_KEY


def url(name, *args):
    return reverse(f"django_thinkific:{name}", args=args)


class ReadOnly(BasePermission):
    """A site's own permission class, named in REST_PERMISSION_CLASSES below."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS


def assert_no_key(response):
    assert API_KEY.encode() not in response.content


# --- routing ----------------------------------------------------------------------------


def test_url_names_live_in_the_app_namespace():
    assert url("api-root") == "/thinkific/api/"
    assert url("subscription-list") == "/thinkific/api/subscriptions/"
    assert url("subscription-detail", 7) == "/thinkific/api/subscriptions/7/"
    assert url("subscription-send-test", 7) == "/thinkific/api/subscriptions/7/send-test/"
    assert url("subscription-sync") == "/thinkific/api/subscriptions/sync/"
    assert url("event-list") == "/thinkific/api/events/"
    assert url("event-detail", 7) == "/thinkific/api/events/7/"
    assert url("event-process-again", 7) == "/thinkific/api/events/7/process-again/"


def test_api_root_lists_both_collections(staff_api):
    response = staff_api.get(url("api-root"))
    assert response.status_code == 200
    assert set(response.json()) == {"subscriptions", "events"}


# --- permissions ------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "api-root", False),
    ("get", "subscription-list", False),
    ("post", "subscription-list", False),
    ("get", "subscription-detail", True),
    ("put", "subscription-detail", True),
    ("patch", "subscription-detail", True),
    ("delete", "subscription-detail", True),
    ("post", "subscription-send-test", True),
    ("post", "subscription-sync", False),
    ("get", "event-list", False),
    ("get", "event-detail", True),
    ("post", "event-process-again", True),
]


def _call(client, method, name, detail, pk):
    path = url(name, pk) if detail else url(name)
    data = {"topic": "order.created", "target_url": URL}
    return getattr(client, method)(path, data, format="json")


@pytest.mark.parametrize(("method", "name", "detail"), ENDPOINTS)
@pytest.mark.parametrize("who", ["anonymous", "member", "wrong password"])
def test_refused_to_anyone_but_staff(fake_api, member, who, method, name, detail):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    event = ReceivedEventFactory(status="failed")
    fake_api.add_webhook("order.created", URL, id=sub.thinkific_id)
    client = APIClient()
    if who == "member":
        client.force_login(member)
    elif who == "wrong password":
        client.credentials(HTTP_AUTHORIZATION=basic("member", "nope"))
    pk = event.pk if name.startswith("event") else sub.pk
    with capture_events() as calls:
        response = _call(client, method, name, detail, pk)
    if who == "member":
        assert response.status_code == 403
    else:
        # Basic is the first authenticator, so the challenge is a 401 an HTTP client understands.
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Basic")
    assert fake_api.calls == []
    assert calls == []
    assert Subscription.objects.get() == sub
    assert ReceivedEvent.objects.get().status == "failed"


def test_basic_auth_works_for_staff(fake_api, staff):
    SubscriptionFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("ops", "ops-pw"))
    assert client.get(url("subscription-list")).status_code == 200
    response = client.post(
        url("subscription-list"), {"topic": "order.created", "target_url": URL}, format="json"
    )
    assert response.status_code == 201  # no CSRF token needed without a session


def test_permission_classes_are_configurable(thinkific, member):
    SubscriptionFactory()
    client = APIClient()
    client.force_login(member)
    assert client.get(url("subscription-list")).status_code == 403
    thinkific(REST_PERMISSION_CLASSES=["rest_framework.permissions.IsAuthenticated"])
    assert client.get(url("subscription-list")).status_code == 200
    assert client.get(url("event-list")).status_code == 200


def test_every_configured_class_must_allow(thinkific, staff_api, fake_api):
    thinkific(
        REST_PERMISSION_CLASSES=[
            "rest_framework.permissions.IsAdminUser",
            "tests.test_rest_api.ReadOnly",
        ]
    )
    assert staff_api.get(url("subscription-list")).status_code == 200
    response = staff_api.post(
        url("subscription-list"), {"topic": "order.created", "target_url": URL}
    )
    assert response.status_code == 403
    assert fake_api.calls == []


def test_an_unimportable_permission_class_names_the_setting(thinkific, staff_api):
    thinkific(REST_PERMISSION_CLASSES=["tests.nowhere.Nobody"])
    with pytest.raises(ImproperlyConfigured, match="REST_PERMISSION_CLASSES"):
        staff_api.get(url("subscription-list"))


def test_session_requests_need_a_csrf_token(fake_api, staff):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    data = {"topic": "order.created", "target_url": URL}
    response = client.post(url("subscription-list"), data, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert fake_api.calls == []
    assert not Subscription.objects.exists()

    token = "a" * 32
    client.cookies["csrftoken"] = token
    response = client.post(url("subscription-list"), data, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


# --- subscriptions ----------------------------------------------------------------------


def test_list_subscriptions(staff_api):
    SubscriptionFactory(topic="order.created", target_url=URL)
    SubscriptionFactory(topic="enrollment.completed", target_url=URL, status="inactive")
    response = staff_api.get(url("subscription-list"))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["topic"] for row in body["results"]] == ["enrollment.completed", "order.created"]
    row = body["results"][1]
    assert row["target_url"] == URL
    assert row["thinkific_id"]
    assert row["status"] == "active"

    filtered = staff_api.get(url("subscription-list"), {"status": "inactive"}).json()
    assert [row["topic"] for row in filtered["results"]] == ["enrollment.completed"]
    filtered = staff_api.get(url("subscription-list"), {"topic": "order.created"}).json()
    assert [row["topic"] for row in filtered["results"]] == ["order.created"]


def test_subscription_list_pages(staff_api):
    SubscriptionFactory.create_batch(3)
    first = staff_api.get(url("subscription-list"), {"page_size": 2}).json()
    assert (first["count"], len(first["results"])) == (3, 2)
    second = staff_api.get(first["next"]).json()
    assert len(second["results"]) == 1


def test_retrieve_subscription(staff_api):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    response = staff_api.get(url("subscription-detail", sub.pk))
    assert response.status_code == 200
    assert response.json()["id"] == sub.pk
    assert response.json()["thinkific_id"] == sub.thinkific_id
    assert staff_api.get(url("subscription-detail", sub.pk + 1)).status_code == 404


def test_create_goes_to_thinkific_and_answers_201(staff_api, fake_api):
    response = staff_api.post(
        url("subscription-list"),
        # Read-only fields in the input are ignored, not trusted.
        {"topic": "order.created", "target_url": URL, "thinkific_id": "1", "status": "x"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    sub = Subscription.objects.get()
    assert body["id"] == sub.pk
    assert body["thinkific_id"] == sub.thinkific_id != "1"
    assert (body["topic"], body["target_url"], body["status"]) == ("order.created", URL, "active")
    assert body["last_synced_at"]
    assert fake_api.webhooks[sub.thinkific_id]["target_url"] == URL


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"topic": "orders.created", "target_url": URL}, {"topic": ["invalid format"]}),
        ({"topic": "order.created", "target_url": "http://shop.acme.io/h"}, None),
        ({"topic": "order.created", "target_url": "not a url"}, None),
    ],
)
def test_create_refused_locally_is_422_with_thinkifics_messages(staff_api, fake_api, data, errors):
    response = staff_api.post(url("subscription-list"), data, format="json")
    assert response.status_code == 422
    assert response.json() == (errors or {"target_url": ["is not valid"]})
    assert fake_api.calls == []  # refused before calling out
    assert not Subscription.objects.exists()


def test_create_refused_by_thinkific_is_422_and_stores_nothing(staff_api, fake_api):
    fake_api.fail_next(422, {"errors": {"url": "is not valid"}})
    response = staff_api.post(
        url("subscription-list"), {"topic": "order.created", "target_url": URL}, format="json"
    )
    assert response.status_code == 422
    assert response.json() == {"target_url": ["is not valid"]}
    assert fake_api.calls == [("POST", "/webhooks")]
    assert not Subscription.objects.exists()


def test_thinkifics_errors_not_tied_to_a_field_are_non_field_errors(staff_api, fake_api):
    fake_api.fail_next(422, {"errors": {"base": "Webhook limit reached"}})
    response = staff_api.post(
        url("subscription-list"), {"topic": "order.created", "target_url": URL}, format="json"
    )
    assert response.status_code == 422
    assert response.json() == {"non_field_errors": ["Webhook limit reached"]}


def test_malformed_input_is_400(staff_api, fake_api):
    response = staff_api.post(url("subscription-list"), {"topic": "order.created"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"target_url": ["This field is required."]}
    assert fake_api.calls == []


@pytest.mark.parametrize(
    ("status", "times", "headers"),
    [
        (500, 1, {}),  # a POST that reached Thinkific is never retried
        (401, 1, {}),  # Thinkific refused the site's key: not the caller's problem
        (400, 1, {}),  # a status Thinkific does not document
    ],
)
def test_create_upstream_failure_is_502(staff_api, fake_api, status, times, headers):
    fake_api.fail_next(status, None, times=times, headers=headers)
    response = staff_api.post(
        url("subscription-list"), {"topic": "order.created", "target_url": URL}, format="json"
    )
    assert response.status_code == 502
    assert response.json()["detail"].startswith("Thinkific")
    assert_no_key(response)
    assert not Subscription.objects.exists()


def test_create_when_thinkific_is_unreachable_is_502(staff_api, fake_api, thinkific):
    # Nothing answers at this host: `responses` refuses the connection.
    thinkific(API_BASE_URL="https://down.thinkific.test/api/v2")
    response = staff_api.post(
        url("subscription-list"), {"topic": "order.created", "target_url": URL}, format="json"
    )
    assert response.status_code == 502
    assert response.json() == {
        "detail": "Thinkific could not be reached at https://down.thinkific.test/api/v2 "
        "(connection failed)"
    }
    assert not Subscription.objects.exists()


def test_rate_limited_is_503_with_retry_after(staff_api, fake_api):
    fake_api.fail_next(429, {"error": "Too many requests"}, headers={"Retry-After": "120"})
    response = staff_api.post(
        url("subscription-list"), {"topic": "order.created", "target_url": URL}, format="json"
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "120"
    assert "rate limiting" in response.json()["detail"]


def test_disabled_api_is_503(staff_api, fake_api, thinkific):
    thinkific(API_ENABLED=False)
    response = staff_api.post(
        url("subscription-list"), {"topic": "order.created", "target_url": URL}, format="json"
    )
    assert response.status_code == 503
    assert not response.has_header("Retry-After")
    assert fake_api.calls == []


def test_put_updates_thinkific_then_the_row(staff_api, fake_api):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    fake_api.add_webhook("order.created", URL, id=sub.thinkific_id)
    response = staff_api.put(
        url("subscription-detail", sub.pk),
        {"topic": "enrollment.completed", "target_url": OTHER_URL},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["topic"], response.json()["target_url"]) == (
        "enrollment.completed",
        OTHER_URL,
    )
    sub.refresh_from_db()
    assert (sub.topic, sub.target_url) == ("enrollment.completed", OTHER_URL)
    assert fake_api.webhooks[sub.thinkific_id]["topic"] == "enrollment.completed"


def test_put_needs_both_fields(staff_api, fake_api):
    sub = SubscriptionFactory()
    response = staff_api.put(url("subscription-detail", sub.pk), {"target_url": URL}, format="json")
    assert response.status_code == 400
    assert response.json() == {"topic": ["This field is required."]}
    assert fake_api.calls == []


def test_patch_keeps_the_field_not_sent(staff_api, fake_api):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    fake_api.add_webhook("order.created", URL, id=sub.thinkific_id)
    response = staff_api.patch(
        url("subscription-detail", sub.pk), {"target_url": OTHER_URL}, format="json"
    )
    assert response.status_code == 200
    sub.refresh_from_db()
    assert (sub.topic, sub.target_url) == ("order.created", OTHER_URL)
    assert fake_api.webhooks[sub.thinkific_id]["target_url"] == OTHER_URL


def test_update_refused_by_thinkific_is_422_and_keeps_the_row(staff_api, fake_api):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    fake_api.add_webhook("order.created", URL, id=sub.thinkific_id)
    fake_api.fail_next(422, {"errors": {"url": ["is not valid"]}})
    response = staff_api.patch(
        url("subscription-detail", sub.pk), {"target_url": OTHER_URL}, format="json"
    )
    assert response.status_code == 422
    assert response.json() == {"target_url": ["is not valid"]}
    sub.refresh_from_db()
    assert sub.target_url == URL


def test_update_of_a_webhook_gone_from_thinkific_is_404(staff_api, fake_api):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)  # not in the fake
    response = staff_api.patch(
        url("subscription-detail", sub.pk), {"target_url": OTHER_URL}, format="json"
    )
    assert response.status_code == 404
    assert "sync" in response.json()["detail"]
    sub.refresh_from_db()
    assert sub.target_url == URL


def test_update_when_thinkific_keeps_failing_is_502(staff_api, fake_api, retry_pauses):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    fake_api.add_webhook("order.created", URL, id=sub.thinkific_id)
    fake_api.fail_next(500, times=4)  # a PUT is retried; every attempt fails
    response = staff_api.patch(
        url("subscription-detail", sub.pk), {"target_url": OTHER_URL}, format="json"
    )
    assert response.status_code == 502
    assert response.json() == {"detail": "Thinkific had a server error (500)"}
    assert len(retry_pauses) == 3
    sub.refresh_from_db()
    assert sub.target_url == URL


def test_delete_removes_it_at_thinkific_and_here(staff_api, fake_api):
    sub = SubscriptionFactory()
    fake_api.add_webhook(sub.topic, sub.target_url, id=sub.thinkific_id)
    response = staff_api.delete(url("subscription-detail", sub.pk))
    assert response.status_code == 204
    assert fake_api.webhooks == {}
    assert not Subscription.objects.exists()


def test_delete_of_a_webhook_thinkific_already_deleted_is_204(staff_api, fake_api):
    sub = SubscriptionFactory()
    response = staff_api.delete(url("subscription-detail", sub.pk))
    assert response.status_code == 204
    assert fake_api.calls == [("DELETE", f"/webhooks/{sub.thinkific_id}")]
    assert not Subscription.objects.exists()


def test_delete_refused_keeps_the_row(staff_api, fake_api):
    sub = SubscriptionFactory()
    fake_api.add_webhook(sub.topic, sub.target_url, id=sub.thinkific_id)
    fake_api.fail_next(403, {"error": "Forbidden"})
    response = staff_api.delete(url("subscription-detail", sub.pk))
    assert response.status_code == 502
    assert response.json() == {"detail": "Thinkific refused the API key (403)"}
    assert_no_key(response)
    assert Subscription.objects.exists()


def test_sync_mirrors_thinkific_and_reports_counts(staff_api, fake_api):
    kept = SubscriptionFactory(topic="order.created", target_url=URL)
    SubscriptionFactory(topic="user.signup")  # gone from Thinkific
    fake_api.add_webhook("order.created", OTHER_URL, id=kept.thinkific_id)  # changed there
    fake_api.add_webhook("enrollment.completed", URL)
    fake_api.add_webhook("user.signup", URL)
    response = staff_api.post(url("subscription-sync"))
    assert response.status_code == 200
    assert response.json() == {
        "created": 2,
        "updated": 1,
        "removed": 1,
        "unchanged": 0,
        "pages": 1,
        "total": 3,
        "skipped": [],
    }
    assert set(Subscription.objects.values_list("thinkific_id", flat=True)) == set(
        fake_api.webhooks
    )
    kept.refresh_from_db()
    assert kept.target_url == OTHER_URL


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "Unauthorized"}),
        # A 404 on the list means a wrong API_BASE_URL: upstream, not "no such subscription".
        (404, {"error": "Not found"}),
        (500, {"error": "Internal"}),
        (200, {"unexpected": "shape"}),  # not the documented JSON
    ],
)
def test_sync_failure_is_502_and_deletes_nothing(staff_api, fake_api, status, body):
    SubscriptionFactory()
    fake_api.fail_next(status, body, times=4)
    response = staff_api.post(url("subscription-sync"))
    assert response.status_code == 502
    assert response.json()["detail"].startswith("Thinkific")
    assert_no_key(response)
    assert Subscription.objects.count() == 1


# --- send-test --------------------------------------------------------------------------


def test_send_test_posts_a_signed_sample_to_the_target(staff_api, target):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    target.add(responses.POST, URL, status=204)
    response = staff_api.post(url("subscription-send-test", sub.pk))
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "event_id": body["event_id"],
        "status_code": 204,
        "ok": True,
        "detail": "The target answered HTTP 204.",
    }
    sent = target.calls[0].request
    assert sent.headers["X-Thinkific-Hmac-Sha256"] == sign(sent.body, API_KEY)
    assert sent.headers["X-Thinkific-Topic"] == "order.created"
    assert f'"id": "{body["event_id"]}"' in sent.body.decode()


def test_send_test_reports_a_refusing_target(staff_api, target):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    target.add(responses.POST, URL, status=500, body="secret stack trace")
    body = staff_api.post(url("subscription-send-test", sub.pk)).json()
    assert (body["status_code"], body["ok"]) == (500, False)
    assert "secret stack trace" not in str(body)  # the target's body is never echoed


def test_send_test_reports_an_unreachable_target(staff_api, target):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)  # nothing registered
    response = staff_api.post(url("subscription-send-test", sub.pk))
    assert response.status_code == 200
    body = response.json()
    assert (body["status_code"], body["ok"]) == (None, False)
    assert "could not be reached" in body["detail"]


def test_send_test_to_a_target_thinkific_would_refuse_is_422(staff_api, target):
    sub = SubscriptionFactory(topic="order.created", target_url="http://shop.acme.io/hook")
    response = staff_api.post(url("subscription-send-test", sub.pk))
    assert response.status_code == 422
    assert response.json() == {"target_url": ["is not valid"]}
    assert len(target.calls) == 0


def test_send_test_without_a_signing_secret_is_503(staff_api, target, thinkific):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    thinkific(API_KEY=None, APP_CLIENT_SECRET=None, WEBHOOK_SECRETS=[])
    response = staff_api.post(url("subscription-send-test", sub.pk))
    assert response.status_code == 503
    assert len(target.calls) == 0


# --- events -----------------------------------------------------------------------------


def _at(day, hour=12):
    return datetime(2024, 5, day, hour, tzinfo=dt_timezone.utc)


def _ids(response):
    assert response.status_code == 200, response.content
    return [row["event_id"] for row in response.json()["results"]]


def test_list_events_newest_first_without_payloads(staff_api):
    ReceivedEventFactory(event_id="old", received_at=_at(1))
    ReceivedEventFactory(event_id="new", received_at=_at(2), status="failed", last_error="boom")
    response = staff_api.get(url("event-list"))
    assert _ids(response) == ["new", "old"]
    row = response.json()["results"][0]
    assert row["status"] == "failed"
    assert row["topic"] == "order.created"
    assert "payload" not in row
    assert "last_error" not in row


def test_retrieve_event_includes_payload_and_error(staff_api):
    event = ReceivedEventFactory(status="failed", last_error="Traceback: boom")
    response = staff_api.get(url("event-detail", event.pk))
    assert response.status_code == 200
    body = response.json()
    assert body["event_id"] == event.event_id
    assert body["payload"] == event.payload
    assert body["last_error"] == "Traceback: boom"
    assert staff_api.get(url("event-detail", event.pk + 1)).status_code == 404


@pytest.fixture
def events_to_filter():
    ReceivedEventFactory(
        event_id="a", topic="order.created", status="processed", received_at=_at(1)
    )
    ReceivedEventFactory(
        event_id="b", topic="enrollment.completed", status="failed", received_at=_at(2)
    )
    ReceivedEventFactory(event_id="c", topic="order.created", status="failed", received_at=_at(3))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"topic": "order.created"}, ["c", "a"]),
        ({"status": "failed"}, ["c", "b"]),
        ({"topic": "order.created", "status": "failed"}, ["c"]),
        ({"received_after": "2024-05-02"}, ["c", "b"]),
        ({"received_before": "2024-05-02"}, ["a"]),
        ({"received_after": "2024-05-02", "received_before": "2024-05-03"}, ["b"]),
        ({"received_after": "2024-05-02T12:00:00Z"}, ["c", "b"]),  # inclusive
        ({"received_before": "2024-05-02T12:00:00Z"}, ["a"]),  # exclusive
        ({"received_after": "2024-05-02T13:00:00+02:00"}, ["c", "b"]),
        ({"received_after": "2024-05-02T13:00:00 02:00"}, ["c", "b"]),  # an unencoded "+"
        ({"received_after": "2024-05-02T12:00:01"}, ["c"]),  # naive: the site's time zone
        ({"status": "", "topic": ""}, ["c", "b", "a"]),  # blank means no filter
    ],
)
def test_event_filters(staff_api, events_to_filter, params, expected):
    assert _ids(staff_api.get(url("event-list"), params)) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"received_after": "yesterday"}, "received_after"),
        ({"received_before": "2024-02-30"}, "received_before"),
        ({"received_before": "2024-05-01T25:00"}, "received_before"),
        ({"status": "lost"}, "status"),
    ],
)
def test_a_bad_filter_is_400_naming_it(staff_api, events_to_filter, params, field):
    response = staff_api.get(url("event-list"), params)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_cursor_pagination_walks_every_event_once(staff_api):
    base = timezone.now() - timedelta(days=1)
    # Ties in received_at included: pk orders them.
    for i in range(7):
        ReceivedEventFactory(event_id=f"e{i}", received_at=base + timedelta(minutes=i // 2))
    expected = list(
        ReceivedEvent.objects.order_by("-received_at", "-pk").values_list("event_id", flat=True)
    )
    seen, pages = [], 0
    next_url = url("event-list") + "?page_size=3"
    while next_url:
        body = staff_api.get(next_url).json()
        assert "count" not in body  # no COUNT(*) over a big table
        seen += [row["event_id"] for row in body["results"]]
        next_url = body["next"]
        pages += 1
    assert seen == expected
    assert pages == 3


def test_cursor_pagination_keeps_filters(staff_api, events_to_filter):
    first = staff_api.get(url("event-list"), {"status": "failed", "page_size": 1}).json()
    assert [row["event_id"] for row in first["results"]] == ["c"]
    second = staff_api.get(first["next"]).json()
    assert [row["event_id"] for row in second["results"]] == ["b"]
    assert second["next"] is None


@pytest.mark.parametrize(
    ("method", "detail"),
    [("post", False), ("put", True), ("patch", True), ("delete", True)],
)
def test_events_are_read_only(staff_api, method, detail):
    event = ReceivedEventFactory()
    path = url("event-detail", event.pk) if detail else url("event-list")
    response = getattr(staff_api, method)(path, {"status": "processed"}, format="json")
    assert response.status_code == 405
    assert ReceivedEvent.objects.get().status == "pending"


def test_process_again_runs_the_signals(staff_api):
    event = ReceivedEventFactory(status="processed", attempts=1)
    with capture_events("order.created") as calls:
        response = staff_api.post(url("event-process-again", event.pk))
    assert response.status_code == 200
    body = response.json()
    assert (body["processed"], body["failed"], body["skipped"]) == (1, 0, 0)
    assert body["event"]["status"] == "processed"
    assert body["event"]["attempts"] == 2
    assert [c.event.pk for c in calls] == [event.pk]


def test_process_again_reports_a_failing_receiver(staff_api, connect):
    event = ReceivedEventFactory(status="failed", attempts=1)

    def broken(**kwargs):
        raise RuntimeError("still broken")

    connect(webhook_received, broken)
    response = staff_api.post(url("event-process-again", event.pk))
    assert response.status_code == 200
    body = response.json()
    assert (body["processed"], body["failed"], body["skipped"]) == (0, 1, 0)
    assert body["event"]["status"] == "failed"
    assert "still broken" in body["event"]["last_error"]
    event.refresh_from_db()
    assert event.status == "failed"


def test_process_again_skips_an_event_being_processed_right_now(staff_api):
    event = ReceivedEventFactory(status="pending", attempts=1, last_attempt_at=timezone.now())
    with capture_events() as calls:
        response = staff_api.post(url("event-process-again", event.pk))
    assert response.status_code == 200
    assert (response.json()["processed"], response.json()["skipped"]) == (0, 1)
    assert calls == []


@pytest.mark.parametrize(
    ("codenames", "method", "name", "args", "allowed"),
    [
        ((), "get", "subscription-list", (), False),
        (("view_subscription",), "get", "subscription-list", (), True),
        (("view_subscription",), "post", "subscription-sync", (), False),
        (("view_subscription", "change_subscription"), "post", "subscription-sync", (), True),
        (("view_subscription",), "delete", "subscription-detail", ("sub",), False),
        (("view_receivedevent",), "get", "event-list", (), True),
        (("view_receivedevent",), "post", "event-process-again", ("event",), False),
        (
            ("view_receivedevent", "change_receivedevent"),
            "post",
            "event-process-again",
            ("event",),
            True,
        ),
    ],
)
def test_model_permissions_per_action(fake_api, codenames, method, name, args, allowed):
    """Staff status alone is not enough: each action needs the admin's permission."""
    user = staff_user(*codenames, username="limited")
    client = APIClient()
    client.force_authenticate(user)
    objects = {
        "sub": SubscriptionFactory().pk,
        "event": ReceivedEventFactory(status="failed", attempts=1).pk,
    }
    url = reverse(f"django_thinkific:{name}", args=[objects[a] for a in args])
    response = getattr(client, method)(url, format="json")
    if allowed:
        assert response.status_code < 400, response.content
    else:
        assert response.status_code == 403


@pytest.mark.parametrize(
    "classes",
    [
        [ReadOnly],  # the class itself, not its dotted path: DRF's own settings take paths
        ["os.path.join"],  # importable, but no class
        ["django.http.HttpResponse"],  # a class, but no permission
        [None],
    ],
    ids=["class-object", "function", "not-a-permission", "none"],
)
def test_a_permission_entry_that_is_no_permission_class_names_the_setting(
    thinkific, staff_api, classes
):
    """Like an unimportable path (the test above): E009 reports it, and a request fails
    closed naming the setting, not with a bare AttributeError/TypeError from DRF."""
    thinkific(REST_PERMISSION_CLASSES=classes)
    assert "django_thinkific.E009" in app_check_ids()
    with pytest.raises(ImproperlyConfigured, match="REST_PERMISSION_CLASSES"):
        staff_api.get(url("subscription-list"))
