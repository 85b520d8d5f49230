"""The security review of issue 7, as tests: what SECURITY.md claims, checked over HTTP.

Only what no other test file already covers is here; SECURITY.md names the
existing tests for the rest. Everything goes through the public surface: the
receiver URL, the admin pages, the REST API and Django's own error handling.
"""

import hmac
import json
import logging

import pytest
import responses
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse
from rest_framework.test import APIClient

from django_thinkific.conf import get_settings
from django_thinkific.errors import APIDisabled, APIKeyRefused, ValidationFailed
from django_thinkific.models import ReceivedEvent, Subscription
from django_thinkific.services.envelope import MAX_JSON_DEPTH
from django_thinkific.services.subscriptions import get_client
from django_thinkific.testing import capture_events, post_event, sample_event, sign
from django_thinkific.testing.fake_api import FakeThinkificAPI
from tests.factories import ReceivedEventFactory, SubscriptionFactory, grant_all, staff_user
from tests.helpers import WEBHOOK_URL, app_check_ids, basic, raw_post
from tests.settings import API_KEY, APP_SECRET

pytestmark = pytest.mark.django_db

RECEIVER = WEBHOOK_URL
SUBS = "/admin/django_thinkific/subscription/"
EVENTS = "/admin/django_thinkific/receivedevent/"
TARGET = "https://shop.acme.io/thinkific/webhooks/"
ELSEWHERE = "https://evil.acme.io/collect"
ROTATED_SECRET = "whsec-rotated-8d1f0c"
CURRENT_SECRET = "whsec-current-77ab42"
ALL_SECRETS = (API_KEY, APP_SECRET, ROTATED_SECRET, CURRENT_SECRET)


# --- a test-only URLconf (pytest.mark.urls) with a view that has a bug -------------------


def _buggy_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in some view of the site")


urlpatterns = [
    path("boom/", _buggy_view),
    path("thinkific/", include("django_thinkific.urls")),
]


# --- helpers ------------------------------------------------------------------------------


def envelope_bytes(**overrides) -> bytes:
    return json.dumps(sample_event("order.created", **overrides)).encode()


def nested(levels: int) -> dict:
    """A dict holding ``levels`` dicts in total, one inside the other."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.fixture
def rotated_secrets(thinkific):
    """Four keys a delivery may be signed with, none of them the API key."""
    thinkific(WEBHOOK_SECRETS=[ROTATED_SECRET, CURRENT_SECRET])


@pytest.fixture
def debug_client(settings):
    """DEBUG on, and a client that gets Django's answer to a crash instead of the exception."""
    settings.DEBUG = True
    return Client(raise_request_exception=False)


# --- signature: constant time, raw bytes, no bypass ---------------------------------------


@pytest.mark.parametrize("signed_with", [ROTATED_SECRET, CURRENT_SECRET, "attacker-key"])
def test_every_configured_secret_is_compared_once_in_constant_time(
    client, thinkific, monkeypatch, signed_with
):
    """One hmac.compare_digest per key, whichever key matches: no early exit, no ``==``."""
    secrets = [ROTATED_SECRET, "whsec-middle-3", CURRENT_SECRET]
    thinkific(WEBHOOK_SECRETS=secrets)
    body = envelope_bytes()
    signature = sign(body, signed_with)
    compared = []
    real_compare_digest = hmac.compare_digest

    def spy(a, b):
        compared.append((bytes(a), bytes(b)))
        return real_compare_digest(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    response = raw_post(client, body, signature)
    assert response.status_code == (401 if signed_with == "attacker-key" else 200)
    ours = [expected for expected, given in compared if given == signature.encode()]
    assert sorted(ours) == sorted(sign(body, s).encode() for s in secrets)


def test_debug_does_not_relax_verification(client, settings):
    settings.DEBUG = True
    body = envelope_bytes()
    assert raw_post(client, body).status_code == 401
    assert raw_post(client, body, sign(body, "not-a-key")).status_code == 401
    assert raw_post(client, body, "").status_code == 401
    assert not ReceivedEvent.objects.exists()
    assert raw_post(client, body, sign(body, API_KEY)).status_code == 200  # the control


@pytest.mark.parametrize(
    "headers",
    [
        {"REMOTE_ADDR": "127.0.0.1"},
        {"HTTP_X_FORWARDED_FOR": "127.0.0.1", "HTTP_X_REAL_IP": "127.0.0.1"},
        {"HTTP_X_THINKIFIC_TOPIC": "order.created", "HTTP_X_THINKIFIC_SUBDOMAIN": "acme"},
        {"HTTP_X_DEBUG": "1", "HTTP_X_SKIP_SIGNATURE": "true"},
        {"HTTP_AUTHORIZATION": basic("admin", "admin")},
        {"HTTP_X_THINKIFIC_HMAC_SHA256": ""},
        {"HTTP_X_THINKIFIC_HMAC_SHA256": "   "},
    ],
)
def test_no_header_or_origin_stands_in_for_the_signature(client, admin_user, headers):
    client.force_login(admin_user)  # not even a logged-in superuser's session
    response = raw_post(client, envelope_bytes(), **headers)
    assert response.status_code == 401
    assert not ReceivedEvent.objects.exists()


def test_partial_or_padded_signatures_are_refused(client):
    body = envelope_bytes()
    good = sign(body, API_KEY)
    for forged in (good[:32], good[:-1], good + "0", good + good, "0" * 64, "sha256=" + good):
        assert raw_post(client, body, forged).status_code == 401, forged
    assert not ReceivedEvent.objects.exists()
    assert raw_post(client, body, good).status_code == 200  # the control


def test_blank_keys_are_never_accepted_for_signing(client, thinkific):
    thinkific(WEBHOOK_SECRETS=["", "   "], API_KEY="", APP_CLIENT_SECRET="")
    body = envelope_bytes()
    for key in ("", "   "):
        assert raw_post(client, body, sign(body, key)).status_code == 401
    assert not ReceivedEvent.objects.exists()


def test_signature_is_over_the_raw_bytes_not_the_parsed_json(client):
    raw = b'{ "id": "20180126172320940835612",  "resource": "order", "action": "created" }'
    reserialized = json.dumps(json.loads(raw)).encode()
    assert reserialized != raw
    assert raw_post(client, raw, sign(reserialized, API_KEY)).status_code == 401
    assert not ReceivedEvent.objects.exists()
    assert raw_post(client, raw, sign(raw, API_KEY)).status_code == 200


def test_a_form_content_type_does_not_change_what_is_verified(client):
    """The body is read raw even when the content type invites form parsing."""
    body = envelope_bytes()
    response = client.post(
        RECEIVER,
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_THINKIFIC_HMAC_SHA256=sign(body, API_KEY),
    )
    assert response.status_code == 200
    assert ReceivedEvent.objects.get().event_id == json.loads(body)["id"]


# --- CSRF: everything but the receiver -----------------------------------------------------


def test_the_receiver_needs_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    assert post_event(client, "order.created").status_code == 200
    assert ReceivedEvent.objects.count() == 1


def _admin_posts(sub, event):
    return [
        (f"{SUBS}add/", {"topic": "order.created", "target_url": TARGET}),
        (f"{SUBS}{sub.pk}/change/", {"topic": "user.signup", "target_url": TARGET}),
        (f"{SUBS}{sub.pk}/delete/", {"post": "yes"}),
        (f"{SUBS}sync/", {}),
        (SUBS, {"action": "send_test_event_action", "_selected_action": [sub.pk]}),
        (SUBS, {"action": "sync_action", "_selected_action": [sub.pk]}),
        (SUBS, {"action": "delete_selected", "_selected_action": [sub.pk], "post": "yes"}),
        (EVENTS, {"action": "process_again_action", "_selected_action": [event.pk]}),
        (EVENTS, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}),
    ]


def test_every_admin_post_needs_the_csrf_token(admin_user, fake_api):
    sub = SubscriptionFactory(target_url=TARGET, topic="order.created")
    fake_api.add_webhook("order.created", TARGET, id=sub.thinkific_id)
    event = ReceivedEventFactory(status="failed", attempts=1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    with capture_events() as signals:
        for url, data in _admin_posts(sub, event):
            response = client.post(url, data)
            assert response.status_code == 403, url
            assert b"CSRF" in response.content, url
    assert fake_api.calls == []
    assert len(fake_api.responses.calls) == 0  # no test event sent either
    assert signals == []
    assert list(Subscription.objects.all()) == [sub]
    assert ReceivedEvent.objects.get().status == "failed"

    # The control: the same client with the page's token is let through.
    assert client.get(SUBS).status_code == 200
    token = client.cookies["csrftoken"].value
    response = client.post(f"{SUBS}sync/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert fake_api.calls != []


REST_UNSAFE = [
    ("put", "subscription-detail", "sub"),
    ("patch", "subscription-detail", "sub"),
    ("delete", "subscription-detail", "sub"),
    ("post", "subscription-send-test", "sub"),
    ("post", "subscription-sync", None),
    ("post", "event-process-again", "event"),
]


@pytest.mark.parametrize(("method", "name", "obj"), REST_UNSAFE)
def test_rest_unsafe_methods_need_the_csrf_token_with_a_session(fake_api, method, name, obj):
    sub = SubscriptionFactory(target_url=TARGET, topic="order.created")
    fake_api.add_webhook("order.created", TARGET, id=sub.thinkific_id)
    event = ReceivedEventFactory(status="failed", attempts=1)
    staff_api = APIClient(enforce_csrf_checks=True)
    staff_api.force_login(grant_all(staff_user()))
    args = {"sub": [sub.pk], "event": [event.pk], None: []}[obj]
    url = reverse(f"django_thinkific:{name}", args=args)
    data = {"topic": "user.signup", "target_url": TARGET}
    with capture_events() as signals:
        response = getattr(staff_api, method)(url, data, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert fake_api.calls == []
    assert len(fake_api.responses.calls) == 0
    assert signals == []
    assert list(Subscription.objects.values_list("topic", flat=True)) == ["order.created"]
    assert ReceivedEvent.objects.get().status == "failed"

    # The control: with the token the same request goes through.
    token = "b" * 32
    staff_api.cookies["csrftoken"] = token
    response = getattr(staff_api, method)(url, data, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code in (200, 204)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("subscription-list", {"topic": "order.created", "target_url": ELSEWHERE}),
        ("subscription-sync", {}),
    ],
)
def test_a_cross_site_form_post_riding_on_basic_credentials_is_refused(fake_api, staff, name, data):
    """A browser that answered the API's Basic prompt resends those credentials by itself,
    also on a form another site makes it submit; unlike the session, Basic has no CSRF check.

    Expected: an unsafe request a browser marks as cross-site (``Origin``,
    ``Sec-Fetch-Site``) is refused like a session request without a token.
    """
    browser = Client(enforce_csrf_checks=True)
    response = browser.post(
        reverse(f"django_thinkific:{name}"),
        data,  # an HTML form: application/x-www-form-urlencoded
        HTTP_AUTHORIZATION=basic("ops", "ops-pw"),
        HTTP_ORIGIN="https://evil.example.net",
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_SEC_FETCH_MODE="navigate",
    )
    assert response.status_code == 403
    assert fake_api.calls == []
    assert not Subscription.objects.exists()


# --- admin: every URL and action checks permissions ---------------------------------------


def _admin_requests(sub, event):
    gets = [
        SUBS,
        f"{SUBS}add/",
        f"{SUBS}{sub.pk}/change/",
        f"{SUBS}{sub.pk}/delete/",
        f"{SUBS}{sub.pk}/history/",
        EVENTS,
        f"{EVENTS}{event.pk}/change/",
        f"{EVENTS}{event.pk}/delete/",
        f"{EVENTS}{event.pk}/history/",
    ]
    return [("get", url, None) for url in gets] + [
        ("post", url, data) for url, data in _admin_posts(sub, event)
    ]


@pytest.fixture
def admin_objects(fake_api):
    sub = SubscriptionFactory(target_url=TARGET, topic="order.created")
    fake_api.add_webhook("order.created", TARGET, id=sub.thinkific_id)
    event = ReceivedEventFactory(status="failed", attempts=1)
    return sub, event


def _assert_nothing_happened(fake_api, sub, signals):
    assert fake_api.calls == []
    assert len(fake_api.responses.calls) == 0
    assert signals == []
    assert list(Subscription.objects.values_list("pk", "topic")) == [(sub.pk, "order.created")]
    assert ReceivedEvent.objects.get().status == "failed"
    assert sub.thinkific_id in fake_api.webhooks


def test_every_admin_url_sends_anonymous_users_to_the_login(client, fake_api, admin_objects):
    sub, event = admin_objects
    with capture_events() as signals:
        for method, url, data in _admin_requests(sub, event):
            response = getattr(client, method)(url, data or {})
            assert response.status_code == 302, (method, url)
            assert response["Location"].startswith("/admin/login/"), (method, url)
    _assert_nothing_happened(fake_api, sub, signals)


def test_every_admin_url_refuses_staff_without_permissions(client, fake_api, admin_objects):
    sub, event = admin_objects
    client.force_login(staff_user())
    with capture_events() as signals:
        for method, url, data in _admin_requests(sub, event):
            response = getattr(client, method)(url, data or {})
            assert response.status_code == 403, (method, url)
    _assert_nothing_happened(fake_api, sub, signals)


def test_viewing_a_webhook_does_not_allow_changing_it(client, fake_api, admin_objects):
    """The form calls Thinkific in ``clean``: a POST without permission must never get there."""
    sub, event = admin_objects
    client.force_login(staff_user("view_subscription", "view_receivedevent"))
    assert client.get(f"{SUBS}{sub.pk}/change/").status_code == 200
    with capture_events() as signals:
        for url, data in _admin_posts(sub, event)[:4]:  # add, change, delete, sync
            assert client.post(url, data).status_code == 403, url
        for url, data in _admin_posts(sub, event)[4:]:  # every action
            client.post(url, data)
    _assert_nothing_happened(fake_api, sub, signals)


def test_each_admin_action_needs_its_own_permission(client, fake_api, admin_objects):
    sub, event = admin_objects
    posts = dict(
        (data.get("action", url), (url, data)) for url, data in _admin_posts(sub, event)[4:8]
    )
    # change but not delete: no bulk delete at Thinkific
    client.force_login(staff_user("view_subscription", "change_subscription"))
    client.post(*posts["delete_selected"])
    assert client.post(f"{SUBS}{sub.pk}/delete/", {"post": "yes"}).status_code == 403
    # delete but not change: no test event, no sync, no processing again
    client.force_login(
        staff_user(
            "view_subscription",
            "delete_subscription",
            "view_receivedevent",
            "delete_receivedevent",
        )
    )
    with capture_events() as signals:
        for action in ("send_test_event_action", "sync_action", "process_again_action"):
            client.post(*posts[action])
        assert client.post(f"{SUBS}sync/").status_code == 403
    # change but not add: no new webhook at Thinkific
    client.force_login(staff_user("view_subscription", "change_subscription"))
    response = client.post(f"{SUBS}add/", {"topic": "user.signup", "target_url": TARGET})
    assert response.status_code == 403
    _assert_nothing_happened(fake_api, sub, signals)


# --- REST API: what test_rest_api.py does not already cover --------------------------------


def test_rest_refuses_a_deactivated_staff_account(fake_api):
    staff_user(username="gone", password="gone-pw", is_active=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("gone", "gone-pw"))
    assert client.get(reverse("django_thinkific:subscription-list")).status_code == 401
    assert client.post(reverse("django_thinkific:subscription-sync")).status_code == 401
    assert fake_api.calls == []


@pytest.mark.parametrize("method", ["options", "head"])
def test_rest_metadata_and_head_are_guarded_too(method):
    response = getattr(APIClient(), method)(reverse("django_thinkific:subscription-list"))
    assert response.status_code == 401
    assert b"target_url" not in response.content


# --- secrets never in reprs, logs or error pages -------------------------------------------


def test_reprs_and_messages_never_show_a_secret(rotated_secrets, thinkific, fake_api):
    from django_thinkific.services import subscriptions
    from django_thinkific.services.sending import send_test_event

    fake_api.responses.add(responses.POST, TARGET, status=204)
    delivery = send_test_event(SubscriptionFactory(target_url=TARGET))
    assert delivery.ok
    objects = [get_settings(), get_client(), fake_api, FakeThinkificAPI(api_key=API_KEY), delivery]
    fake_api.fail_next(401, {"error": "Unauthorized"})
    with pytest.raises(APIKeyRefused) as refused:
        get_client().get_webhook("1")
    with pytest.raises(ValidationFailed) as invalid:
        subscriptions.validate("order.create", "http://10.0.0.1/")
    thinkific(API_ENABLED=False)
    with pytest.raises(APIDisabled) as disabled:
        get_client()
    objects += [refused.value, invalid.value, disabled.value]
    for obj in objects:
        text = f"{obj!r} {obj!s}"
        for secret in ALL_SECRETS:
            assert secret not in text, (obj, secret)


def test_a_delivery_logs_no_secret_and_no_payload(client, rotated_secrets, caplog):
    event = sample_event("order.created", payload={"billing_name": "Private Person"})
    with caplog.at_level(logging.DEBUG):
        assert post_event(client, event, secret=CURRENT_SECRET).status_code == 200
        assert post_event(client, event, secret="wrong").status_code == 401
        bad = b'{"id": "1", "resource": "order", "action": "created", "x": NaN}'
        assert raw_post(client, bad, sign(bad, ROTATED_SECRET)).status_code == 400
    for secret in (*ALL_SECRETS, "Private Person"):
        assert secret not in caplog.text


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_debug_500_page_of_any_view_masks_thinkific_settings(
    debug_client, rotated_secrets, caplog, accept
):
    """Django's SafeExceptionReporterFilter cleanses THINKIFIC's nested keys."""
    response = debug_client.get("/boom/", HTTP_ACCEPT=accept)
    assert response.status_code == 500
    page = response.content.decode()
    assert "a bug in some view of the site" in page  # the technical page, not a plain 500
    assert "THINKIFIC" in page  # with the settings listed...
    assert "********************" in page  # ...and cleansed
    for secret in ALL_SECRETS:
        assert secret not in page
        assert secret not in caplog.text


@pytest.mark.urls(__name__)
def test_debug_500_page_of_the_receiver_shows_no_secret(
    debug_client, rotated_secrets, monkeypatch, caplog
):
    """A bug after verification: the receiver's frames (body, conf, signature) are shown, no key."""

    def broken(body):
        raise RuntimeError("a bug after verification")

    monkeypatch.setattr("django_thinkific.services.receiving.parse_envelope", broken)
    response = post_event(debug_client, "order.created", secret=CURRENT_SECRET)
    assert response.status_code == 500
    page = response.content.decode()
    assert "a bug after verification" in page
    for secret in ALL_SECRETS:
        assert secret not in page
        assert secret not in caplog.text


def test_debug_500_page_of_the_rest_api_shows_no_api_key(
    settings, fake_api, monkeypatch, caplog, staff
):
    """A bug while reading Thinkific's answer: the client's frames are shown, not its key."""
    settings.DEBUG = True

    def broken(response):
        raise RuntimeError("a bug reading Thinkific's answer")

    monkeypatch.setattr("django_thinkific.client.ThinkificClient._json", staticmethod(broken))
    client = APIClient()
    client.raise_request_exception = False
    client.credentials(HTTP_AUTHORIZATION=basic("ops", "ops-pw"))
    response = client.post(
        reverse("django_thinkific:subscription-list"),
        {"topic": "order.created", "target_url": TARGET},
        format="json",
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 500
    page = response.content.decode()
    assert "a bug reading Thinkific" in page
    assert "ThinkificClient" in page  # the client's frame is on the page
    assert API_KEY not in page
    assert API_KEY not in caplog.text


@pytest.mark.parametrize("where", ["rest", "admin"])
def test_an_api_key_with_a_stray_newline_is_never_echoed(
    where, thinkific, fake_api, caplog, admin_user
):
    """A key read from a file often ends in a newline; requests then refuses the header
    with an error that quotes it (``InvalidHeader: ... 'Bearer <key>\\n'``).

    Expected: no 500, and the key neither in the answer nor in any log line.
    """
    thinkific(API_KEY=API_KEY + "\n")
    client = APIClient()
    client.raise_request_exception = False
    client.force_login(admin_user)
    with caplog.at_level(logging.DEBUG):
        if where == "rest":
            response = client.post(
                reverse("django_thinkific:subscription-list"),
                {"topic": "order.created", "target_url": TARGET},
                format="json",
            )
        else:
            response = client.post(f"{SUBS}add/", {"topic": "order.created", "target_url": TARGET})
    assert response.status_code != 500
    assert API_KEY not in response.content.decode()
    assert API_KEY not in caplog.text


# --- request size, JSON depth, encoding, numbers -------------------------------------------


class _Unreadable:
    """A WSGI input that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def test_a_huge_declared_body_is_413_through_the_whole_middleware_stack(client):
    response = client.generic(
        "POST",
        RECEIVER,
        **{
            "wsgi.input": _Unreadable(),
            "CONTENT_LENGTH": str(10**12),
            "CONTENT_TYPE": "application/json",
            "HTTP_X_THINKIFIC_HMAC_SHA256": "0" * 64,
        },
    )
    assert response.status_code == 413
    assert not ReceivedEvent.objects.exists()


def test_size_is_checked_before_the_signature(client, thinkific):
    """An unsigned client cannot make the server read (or hash) more than the limit."""
    thinkific(MAX_BODY_SIZE=1000)
    assert raw_post(client, b"x" * 1001).status_code == 413
    assert raw_post(client, b"x" * 1000).status_code == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            '{"id": "1", "resource": "user", "action": "updated", "payload": {"n": "José"}}'.encode(
                "latin-1"
            ),
            "not valid JSON",
        ),
        (
            b'{"id": "1", "resource": "user", "action": "updated", "payload": {"n": "\xc3\x28"}}',
            "not valid JSON",
        ),
        (  # json reads UTF-8 with "surrogatepass": the envelope check refuses it instead
            b'{"id": "1", "resource": "u", "action": "x", "payload": {"n": "\xed\xa0\x80"}}',
            "unpaired surrogate",
        ),
    ],
    ids=["latin-1", "invalid-utf8-sequence", "utf8-encoded-surrogate"],
)
def test_a_signed_body_that_is_not_utf8_is_400(client, body, reason):
    response = raw_post(client, body, sign(body, API_KEY))
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not ReceivedEvent.objects.exists()


def test_nesting_is_limited_even_where_python_could_parse_it(client):
    deepest_allowed = envelope_bytes(payload=nested(MAX_JSON_DEPTH - 1))  # envelope is level 1
    assert raw_post(client, deepest_allowed, sign(deepest_allowed, API_KEY)).status_code == 200
    for levels in (MAX_JSON_DEPTH, 300):
        body = envelope_bytes(payload=nested(levels))
        response = raw_post(client, body, sign(body, API_KEY))
        assert response.status_code == 400
        assert f"nested deeper than {MAX_JSON_DEPTH}" in response.json()["error"]
    assert ReceivedEvent.objects.count() == 1


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_a_full_size_body_of_openers_is_400_not_a_crash(client, opener):
    limit = get_settings().max_body_size
    body = opener * (limit // len(opener))
    response = raw_post(client, body, sign(body, API_KEY))
    assert response.status_code == 400
    assert not ReceivedEvent.objects.exists()


def test_huge_numbers_are_stored_exactly_or_refused(client):
    big = int("9" * 4000)
    event = sample_event("order.created", payload={"amount_cents": big})
    assert post_event(client, event).status_code == 200
    stored = ReceivedEvent.objects.get().payload
    assert stored["amount_cents"] == big
    too_long = (
        b'{"id": "2", "resource": "o", "action": "c", "payload": {"n": ' + b"9" * 5000 + b"}}"
    )
    response = raw_post(client, too_long, sign(too_long, API_KEY))
    assert response.status_code == 400
    assert ReceivedEvent.objects.count() == 1


# --- test-send: the stored URL only, https, loopback only when allowed ---------------------


def test_send_test_goes_only_to_the_stored_target(staff_api, admin_client, target):
    sub = SubscriptionFactory(topic="order.created", target_url=TARGET)
    stored = target.add(responses.POST, TARGET, status=204)
    elsewhere = target.add(responses.POST, ELSEWHERE, status=204)
    url = reverse("django_thinkific:subscription-send-test", args=[sub.pk])
    response = staff_api.post(url, {"target_url": ELSEWHERE, "url": ELSEWHERE}, format="json")
    assert response.json()["status_code"] == 204
    admin_client.post(
        SUBS,
        {"action": "send_test_event_action", "_selected_action": [sub.pk], "target_url": ELSEWHERE},
    )
    assert (stored.call_count, elsewhere.call_count) == (2, 0)
    sub.refresh_from_db()
    assert sub.target_url == TARGET


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.acme.io/hook",  # plain http to a public host
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://10.0.0.8/hook",
        "https://[::1]/hook",
        "https://localhost/hook",
        "https://intranet/hook",  # no dot: not a public name
        "http://127.0.0.1:8000/thinkific/webhooks/",  # loopback, setting off
        "ftp://shop.acme.io/hook",
    ],
)
def test_send_test_refuses_targets_that_are_not_public_https(staff_api, target, url):
    sub = SubscriptionFactory(topic="order.created", target_url=url)
    response = staff_api.post(reverse("django_thinkific:subscription-send-test", args=[sub.pk]))
    assert response.status_code == 422
    assert response.json() == {"target_url": ["is not valid"]}
    assert len(target.calls) == 0


@pytest.mark.parametrize(
    "url",
    [
        "https://127.1/hook",  # the C resolver reads these as IPv4 addresses
        "https://0x7f.0.0.1/hook",
        "https://0177.0.0.1/hook",
        "https://169.254.43518/latest/meta-data/",  # 169.254.169.254
        "https://10.1/hook",
    ],
)
def test_send_test_refuses_ipv4_addresses_in_shorthand(staff_api, target, url):
    """Python's ip_address() rejects these forms, but getaddrinfo() accepts them (inet_aton)."""
    sub = SubscriptionFactory(topic="order.created", target_url=url)
    response = staff_api.post(reverse("django_thinkific:subscription-send-test", args=[sub.pk]))
    assert response.status_code == 422
    assert len(target.calls) == 0


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("http://127.0.0.1:8000/thinkific/webhooks/", True),
        ("http://localhost:8000/thinkific/webhooks/", True),
        ("http://[::1]:8000/thinkific/webhooks/", True),
        ("http://10.0.0.8/hook", False),
        ("http://192.168.1.20/hook", False),
        ("http://169.254.169.254/latest/meta-data/", False),
        ("http://shop.acme.io/hook", False),
    ],
)
def test_insecure_targets_setting_opens_loopback_only(staff_api, target, thinkific, url, sent):
    thinkific(ALLOW_INSECURE_TARGETS=True)
    target.add(responses.POST, url, status=200)
    sub = SubscriptionFactory(topic="order.created", target_url=url)
    response = staff_api.post(reverse("django_thinkific:subscription-send-test", args=[sub.pk]))
    if sent:
        assert response.json()["status_code"] == 200
        assert len(target.calls) == 1
    else:
        assert response.status_code == 422
        assert len(target.calls) == 0


def test_send_test_timeout_is_reported_without_the_targets_answer(staff_api, target):
    import requests

    sub = SubscriptionFactory(topic="order.created", target_url=TARGET)
    target.add(responses.POST, TARGET, body=requests.ReadTimeout("read timed out"))
    body = staff_api.post(reverse("django_thinkific:subscription-send-test", args=[sub.pk])).json()
    assert (body["status_code"], body["ok"]) == (None, False)
    assert body["detail"] == "The test event was not delivered: no answer within 5 seconds."
    assert target.calls[0].request.req_kwargs["timeout"] == 5.0


# --- client IP in logs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "HTTP_X_FORWARDED_FOR",
        "HTTP_X_REAL_IP",
        "HTTP_FORWARDED",
        "HTTP_CF_CONNECTING_IP",
        "HTTP_TRUE_CLIENT_IP",
        "HTTP_X_CLIENT_IP",
    ],
)
def test_no_forwarding_header_is_trusted_by_default(client, caplog, header):
    with caplog.at_level(logging.WARNING, logger="django_thinkific.webhooks"):
        post_event(
            client,
            "order.created",
            secret="wrong",
            REMOTE_ADDR="10.0.0.2",
            **{header: "198.51.100.7"},
        )
    assert "from 10.0.0.2" in caplog.text
    assert "198.51.100.7" not in caplog.text


def test_configured_header_missing_or_oversized(client, caplog, thinkific):
    thinkific(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
    with caplog.at_level(logging.WARNING, logger="django_thinkific.webhooks"):
        post_event(client, "order.created", secret="wrong", REMOTE_ADDR="10.0.0.2")
        assert "from 10.0.0.2" in caplog.text  # not sent by the proxy: the socket's address
        caplog.clear()
        post_event(
            client,
            "order.created",
            secret="wrong",
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="1.2.3.4, " + "9" * 5000,
        )
    (record,) = [r for r in caplog.records if r.name == "django_thinkific.webhooks"]
    assert "9" * 100 in record.getMessage()
    assert "9" * 101 not in record.getMessage()


@pytest.mark.parametrize(
    ("headers", "trusted", "allowed"),
    [
        ({"HTTP_ORIGIN": "http://testserver"}, [], True),  # the site itself
        ({"HTTP_ORIGIN": "https://ops.example.net"}, ["https://ops.example.net"], True),
        ({"HTTP_ORIGIN": "https://ops.example.net"}, [], False),
        ({"HTTP_SEC_FETCH_SITE": "same-origin"}, [], True),
        ({"HTTP_SEC_FETCH_SITE": "cross-site"}, [], False),
        ({}, [], True),  # curl, scripts
    ],
)
def test_basic_requests_follow_djangos_origin_rules(
    fake_api, settings, staff, headers, trusted, allowed
):
    """Same-origin and CSRF_TRUSTED_ORIGINS clients keep working with Basic; others are refused."""
    settings.CSRF_TRUSTED_ORIGINS = trusted
    response = Client().post(
        reverse("django_thinkific:subscription-sync"),
        "{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=basic("ops", "ops-pw"),
        **headers,
    )
    assert (response.status_code == 200) is allowed, response.content
    if not allowed:
        assert response.status_code == 403


# --- the API key never leaves over a base URL that E005 refuses --------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://api.thinkific.test/api/v2",  # plain http to a public host: the key in clear
        "http://10.0.0.5:8000/api/v2",
        "https://api.thinkific.test:99999/api/v2",  # no such port
        "https://api.thinkific.test:abc/api/v2",
        "https://api thinkific.test/api/v2",  # a space in the host
        "https://api.thinkific.test\u200b/api/v2",  # a pasted zero-width space
    ],
    ids=["http-public", "http-private", "port-99999", "port-abc", "space", "zwsp"],
)
def test_an_api_base_url_refused_by_e005_is_never_called(thinkific, staff_api, url):
    """README: `API_BASE_URL` is "https, except to a loopback host", and E005 reports "not
    a URL, or plain http to a host that is not loopback". E005 said so, but the client
    still sent ``Authorization: Bearer <API_KEY>`` there (in clear over http), and a URL
    that is no URL (a bad port, a space, an invisible character) passed E005."""
    from django_thinkific.services.subscriptions import _client_for

    _client_for.cache_clear()
    thinkific(API_BASE_URL=url)
    assert "django_thinkific.E005" in app_check_ids()
    with responses.RequestsMock() as mock:  # records any request, answers none
        with pytest.raises(APIDisabled, match="E005"):
            get_client()
        response = staff_api.post("/thinkific/api/subscriptions/sync/")
        assert len(mock.calls) == 0
    assert response.status_code == 503, response.content
    assert "API_BASE_URL" in response.json()["detail"]
    assert API_KEY not in response.content.decode()
    _client_for.cache_clear()
