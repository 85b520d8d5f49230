"""What is stored is what was sent, at the edges: ids as numbers, the longest names,
timestamps at the calendar's edge, floats past 1e16, and a site that requires a login.

Run on SQLite and on PostgreSQL (``--database=postgres``): the limits and the
numbers must be the same on both.
"""

from __future__ import annotations

import io
import json
import math

import django
import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.test import modify_settings, override_settings
from django.urls import include, path
from rest_framework.test import APIClient

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import capture_events, post_event, sample_event, sign
from django_thinkific.views import webhook
from tests.helpers import WEBHOOK_URL as URL
from tests.helpers import signed_post
from tests.settings import API_KEY

CHANGELIST = "/admin/django_thinkific/receivedevent/"
pytestmark = pytest.mark.django_db
FRACTIONAL = (
    "'{key}' must be a string or a whole number, not a number with a fraction or an exponent"
)


def envelope(event_id: str, **fields: str) -> bytes:
    """A body with ``event_id`` written into the JSON exactly as given (a number, say)."""
    rest = {"resource": "order", "action": "created", "payload": {}, **fields}
    return b'{"id": ' + event_id.encode() + b", " + json.dumps(rest).encode()[1:]


# --- item 13: ids keep their exact digits ------------------------------------------------


@pytest.mark.parametrize(
    "number",
    ["12345678901234567890.0", "12345678901234567891.0", "100.0", "1e3", "-0.0", "1.5"],
)
def test_an_id_sent_as_a_fractional_number_is_refused_with_a_reason(client, number):
    response = signed_post(client, envelope(number))
    assert response.status_code == 400
    assert response.json()["error"] == FRACTIONAL.format(key="id")
    assert not ReceivedEvent.objects.exists()


def test_two_float_ids_that_are_one_double_never_collapse_into_one_event(client):
    # Before: both became "1.2345678901234567e+19": the second was a "duplicate" whose
    # receivers never ran. Now each is refused, and a string id keeps every digit.
    for number in ("12345678901234567890.0", "12345678901234567891.0"):
        assert signed_post(client, envelope(number)).status_code == 400
    for digits in ("12345678901234567890", "12345678901234567891"):
        response = signed_post(client, envelope(f'"{digits}.0"'))
        assert (response.status_code, response.json()["duplicate"]) == (200, False)
    assert sorted(ReceivedEvent.objects.values_list("event_id", flat=True)) == [
        "12345678901234567890.0",
        "12345678901234567891.0",
    ]


def test_integer_ids_keep_every_digit_and_equal_their_string(client):
    for number in ("20180126172320940835610", "20180126172320940835611", "-7", "9" * 64):
        response = signed_post(client, envelope(number))
        assert (response.status_code, response.json()["duplicate"]) == (200, False), number
        assert response.json()["id"] == number
    # The same digits as a string are the same event id: a duplicate, not a new event.
    response = signed_post(client, envelope('"20180126172320940835610"'))
    assert (response.status_code, response.json()["duplicate"]) == (200, True)
    assert ReceivedEvent.objects.count() == 4


def test_a_tenant_id_sent_as_a_float_is_refused_too(client):
    body = b'{"id": "1", "resource": "order", "action": "created", "tenant_id": 3.0}'
    response = signed_post(client, body)
    assert response.status_code == 400
    assert response.json()["error"] == FRACTIONAL.format(key="tenant_id")


# --- item 13: the same limits on every database, from the model ----------------------------


def max_length(field: str) -> int:
    return ReceivedEvent._meta.get_field(field).max_length


def test_the_longest_topic_the_model_holds_is_stored(client):
    resource = "r" * max_length("resource")
    action = "a" * (max_length("topic") - len(resource) - 1)
    response = post_event(client, {"id": "1", "resource": resource, "action": action})
    assert response.status_code == 200, response.content
    stored = ReceivedEvent.objects.get()
    assert (stored.resource, stored.action, stored.topic) == (
        resource,
        action,
        f"{resource}.{action}",
    )


def test_a_topic_longer_than_the_model_holds_is_400_on_every_database(client):
    resource, action = "r" * max_length("resource"), "a" * max_length("action")
    assert len(f"{resource}.{action}") > max_length("topic")
    response = post_event(client, {"id": "1", "resource": resource, "action": action})
    assert response.status_code == 400
    assert response.json()["error"] == (
        f"'resource' and 'action' make a topic longer than {max_length('topic')} characters"
    )
    assert not ReceivedEvent.objects.exists()


@pytest.mark.parametrize(
    ("key", "field"),
    [
        ("id", "event_id"),
        ("resource", "resource"),
        ("action", "action"),
        ("tenant_id", "tenant_id"),
    ],
)
def test_each_envelope_limit_is_the_models_max_length(client, key, field):
    limit = max_length(field)
    event = {"id": "1", "resource": "order", "action": "created", "tenant_id": "3"}
    response = post_event(client, {**event, key: "x" * (limit + 1)})
    assert response.status_code == 400
    assert response.json()["error"] == f"'{key}' is longer than {limit} characters"
    assert post_event(client, {**event, key: "x" * limit}).status_code == 200


# --- item 13: floats come back as floats -------------------------------------------------

FLOATS = {
    "e16": 1e16,
    "e16_and_a_half": 1.5e16,
    "e22": 1e22,
    "e300": 1e300,
    "max": 1.7976931348623157e308,
    "negative": -2.5e20,
    "tiny": 1e-7,
    "subnormal": 5e-324,
    "tenth": 0.1,
    "price": 49.99,
    "whole": 100.0,
    "zero": 0.0,
}
INTS = {"int": 10**16, "big_int": 10**30, "negative_int": -(10**20)}


def test_a_receiver_run_again_sees_the_numbers_thinkific_sent(admin_user):
    """Process again (REST) re-reads the payload from the database; PostgreSQL's jsonb
    prints 1e16 as 10000000000000000, which used to come back as an int."""
    sent = {**FLOATS, **INTS, "nested": [{"amount": 3e17}, 2.0e19]}
    event = sample_event("order.created", payload=sent)
    client = APIClient()
    assert post_event(client, event).status_code == 200
    stored = ReceivedEvent.objects.get()
    client.force_login(admin_user)
    with capture_events() as calls:
        response = client.post(f"/thinkific/api/events/{stored.pk}/process-again/")
    assert response.status_code == 200, response.content
    (seen,) = [call.payload for call in calls]
    assert _typed(_sent_keys(seen, sent)) == _typed(sent)
    # The row read from the database is the same, and so is the REST API's rendering.
    assert _typed(_sent_keys(ReceivedEvent.objects.get().payload, sent)) == _typed(sent)
    shown = client.get(f"/thinkific/api/events/{stored.pk}/").json()["payload"]
    assert _typed(_sent_keys(shown, sent)) == _typed(sent)


def _sent_keys(payload: dict, sent: dict) -> dict:
    return {key: payload[key] for key in sent}


def test_negative_zero_keeps_its_type(client):
    # PostgreSQL's numeric has no negative zero: -0.0 comes back as 0.0 (equal, still a float).
    assert post_event(client, sample_event("order.created", payload={"z": -0.0})).status_code == 200
    back = ReceivedEvent.objects.get().payload["z"]
    assert (type(back), back) == (float, 0.0)


def _typed(value):
    """``value`` with every number paired with its type, for a comparison that sees int vs float."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, float):
        assert math.isfinite(value)
        return ("float", value)
    if isinstance(value, int):
        return ("int", value)
    return value


# --- item 3: a signed created_at at the calendar's edge --------------------------------


@pytest.mark.parametrize(
    "created_at",
    [
        "9999-12-31T23:59:59-10:00",
        "0001-01-01T00:00:00+10:00",
        "9999-12-31T23:59:59.999999+00:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59",
        12345,
        ["2020-01-01"],
    ],
)
def test_an_unusable_created_at_keeps_the_event_without_a_timestamp(
    admin_client, admin_user, created_at
):
    event = sample_event("order.created", created_at=created_at)
    response = post_event(admin_client, event)
    assert response.status_code == 200, response.content
    stored = ReceivedEvent.objects.get()
    assert (stored.event_id, stored.thinkific_created_at) == (event["id"], None)
    # Everything that shows the event still works.
    assert admin_client.get(CHANGELIST).status_code == 200
    assert admin_client.get(f"{CHANGELIST}{stored.pk}/change/").status_code == 200
    api = APIClient()
    api.force_login(admin_user)
    listing = api.get("/thinkific/api/events/")
    assert listing.status_code == 200
    assert listing.json()["results"][0]["thinkific_created_at"] is None
    assert api.get(f"/thinkific/api/events/{stored.pk}/").status_code == 200


def test_a_created_at_near_the_edge_but_usable_is_kept(client):
    event = sample_event("order.created", created_at="9999-12-29T10:00:00-10:00")
    assert post_event(client, event).status_code == 200
    stored = ReceivedEvent.objects.get().thinkific_created_at
    assert stored.isoformat() == "9999-12-29T20:00:00+00:00"


# --- item 12: a chunked body the server did not decode -------------------------------------


def _wsgi_request(rf, body: bytes, **environ) -> WSGIRequest:
    """A ``WSGIRequest`` built from the environ a WSGI server hands over."""
    base = rf.post(URL, data=body, content_type="application/json").environ
    base.pop("CONTENT_LENGTH", None)
    base.update(HTTP_X_THINKIFIC_HMAC_SHA256=sign(body, API_KEY), **environ)
    return WSGIRequest(base)


def test_runserver_cannot_read_a_chunked_body_and_says_so(rf):
    # runserver and wsgiref do not decode chunks: the body is unreadable (411, not 401).
    body = json.dumps(sample_event("order.created")).encode()
    request = _wsgi_request(rf, body, HTTP_TRANSFER_ENCODING="chunked")
    response = webhook(request)
    assert response.status_code == 411
    assert "Content-Length" in json.loads(response.content)["error"]
    assert not ReceivedEvent.objects.exists()


def test_a_server_that_decoded_the_chunks_has_its_input_read(rf):
    # gunicorn's way (wsgi.input_terminated); the input returns the body in small pieces.
    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, 7) if size and size > 0 else 7)

    body = json.dumps(sample_event("order.created")).encode()
    request = _wsgi_request(
        rf,
        body,
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input_terminated": True, "wsgi.input": Trickle(body)},
    )
    assert webhook(request).status_code == 200
    assert ReceivedEvent.objects.count() == 1


# --- item 16: a site that requires a login for every view --------------------------------


def _private_page(request):
    return HttpResponse("members only")


urlpatterns = [
    path("thinkific/", include("django_thinkific.urls")),
    path("private/", _private_page),
]


@override_settings(ROOT_URLCONF=__name__)
def test_deliveries_are_not_sent_to_the_login_page(client):
    # The view is marked for Django 5.1+'s LoginRequiredMiddleware; before 5.1 (no such
    # middleware) the fallback only sets the same attribute, and deliveries work as ever.
    if django.VERSION >= (5, 1):
        middleware = "django.contrib.auth.middleware.LoginRequiredMiddleware"
        with modify_settings(MIDDLEWARE={"append": middleware}):
            other = client.get("/private/")  # the middleware is on for the rest of the site
            assert (other.status_code, other["Location"]) == (
                302,
                "/accounts/login/?next=/private/",
            )
            response = post_event(client, "order.created")
    else:
        assert client.get("/private/").status_code == 200
        response = post_event(client, "order.created")
    assert response.status_code == 200, response.content
    assert ReceivedEvent.objects.get().status == "processed"
    assert webhook.login_required is False
