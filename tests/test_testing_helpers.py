"""django_thinkific.testing, as a site's own tests use it (the README's example included),
and ``sign()`` against digests computed outside this package."""

import json

import pytest

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import capture_events, new_event_id, post_event, sample_event, sign
from django_thinkific.topics import TOPICS

pytestmark = pytest.mark.django_db


#: A delivery's raw bytes, and its signature under the test site's API key
#: (``test-api-key``), computed once outside Python with
#: ``printf '%s' BODY | openssl dgst -sha256 -hmac test-api-key``.
SIGNED_BODY = (
    b'{"id":"20180126172320940835610","resource":"order","action":"created","tenant_id":"3",'
    b'"created_at":"2018-01-26T22:23:20.808Z","payload":{"id":19796}}'
)
SIGNED_DIGEST = "b5a0d8da3a955fad0b293de949728de1ed03e65f07e9a2ec3ef62871a14ff59f"


@pytest.mark.parametrize(
    ("key", "body", "digest"),
    [
        # RFC 4231, test case 2 (the published HMAC-SHA-256 vector)
        (
            "Jefe",
            b"what do ya want for nothing?",
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        ("test-api-key", SIGNED_BODY, SIGNED_DIGEST),  # openssl, as above
        ("key", b"", "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0"),
    ],
    ids=["rfc4231-case-2", "a-delivery", "empty-body"],
)
def test_sign_is_thinkifics_lowercase_hex_hmac_sha256(key, body, digest):
    assert sign(body, key) == digest


def test_the_receiver_accepts_a_delivery_signed_outside_this_package(client):
    """The endpoint verifies Thinkific's scheme, not only what ``sign()`` computes."""
    response = client.post(
        "/thinkific/webhooks/",
        data=SIGNED_BODY,
        content_type="application/json",
        HTTP_X_THINKIFIC_HMAC_SHA256=SIGNED_DIGEST,
    )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == "20180126172320940835610"


@pytest.mark.parametrize("topic", list(TOPICS))
def test_every_topic_has_a_sample_that_posts_and_fires_its_signal(client, topic):
    event = sample_event(topic)
    assert f"{event['resource']}.{event['action']}" == topic
    assert isinstance(event["payload"], dict)
    assert event["payload"]
    with capture_events(topic) as calls:
        assert post_event(client, event).status_code == 200
    assert calls[0].payload == event["payload"]


def test_samples_get_fresh_ids_and_are_independent_copies():
    a, b = sample_event("order.created"), sample_event("order.created")
    assert a["id"] != b["id"]
    assert len(a["id"]) == 23
    assert a["id"].isdigit()
    a["payload"]["amount_cents"] = 1
    assert sample_event("order.created")["payload"]["amount_cents"] == 5000
    assert len(new_event_id()) == 23


def test_overrides_replace_envelope_keys_and_merge_payload():
    event = sample_event("order.created", id="42", tenant_id="9", payload={"amount_cents": 100})
    assert (event["id"], event["tenant_id"]) == ("42", "9")
    assert event["payload"]["amount_cents"] == 100
    assert event["payload"]["order_number"] == 1010  # the rest of the sample stays


def test_unknown_topic_needs_a_payload():
    with pytest.raises(ValueError, match="payload="):
        sample_event("certificate.issued")
    event = sample_event("certificate.issued", payload={"certificate_id": 1})
    assert (event["resource"], event["action"]) == ("certificate", "issued")


def test_bundled_samples_from_thinkifics_docs_are_verbatim():
    event = sample_event("enrollment.progress")
    assert event["payload"]["percentage_completed"] == "24.0"
    assert sample_event("enrollment.created")["payload"]["completed_at"] is None


def test_post_event_accepts_raw_bytes_custom_secret_and_path(client, thinkific):
    thinkific(WEBHOOK_SECRETS=["only-this"])
    body = json.dumps(sample_event("user.signup")).encode()
    assert (
        post_event(client, body, secret="only-this", path="/thinkific/webhooks/").status_code == 200
    )
    assert post_event(client, body).status_code == 200  # default secret: the first configured


def test_post_event_without_any_secret_says_so(client, thinkific):
    thinkific(API_KEY=None, APP_CLIENT_SECRET=None)
    with pytest.raises(ValueError, match="needs secret="):
        post_event(client, "order.created")


def test_capture_events_rejects_unknown_topic():
    with pytest.raises(ValueError, match="Unknown Thinkific topic"), capture_events("nope.never"):
        pass


# --- the README's own receiver test, as a site writes it ----------------------------------


@pytest.mark.django_db
def test_sample_event_is_accepted_by_a_site_that_sets_max_event_age(client, thinkific):
    """README: ``sample_event`` is "a delivery envelope with a fresh 23-digit id" and the
    README's own example asserts ``post_event(client, event).status_code == 200``. A site
    that turned MAX_EVENT_AGE on (README: for replays older than the window) gets 400 for
    every bundled sample: they keep Thinkific's documentation dates (2014 to 2023) while
    the id says "now"."""
    thinkific(MAX_EVENT_AGE=30)
    event = sample_event("order.created", payload={"product_id": 7})
    response = post_event(client, event)
    assert response.status_code == 200, response.content
    assert ReceivedEvent.objects.filter(event_id=event["id"]).exists()


@pytest.mark.celery
@pytest.mark.django_db
def test_the_readme_receiver_test_works_with_celery_dispatch_and_no_broker(client, thinkific):
    """README: with no broker (task_always_eager) "the task runs in the request, once:
    the answer reports its outcome". The README's own example test is a plain
    ``@pytest.mark.django_db`` test; inside that test transaction the task is queued
    with ``on_commit`` and never ran, so the receiver was not called: ``post_event``
    now runs what the delivery queued, as the commit would have."""
    thinkific(DISPATCH="celery")
    with capture_events("order.created") as calls:
        response = post_event(client, "order.created")
    assert response.status_code == 200
    assert len(calls) == 1
    # The task ran when the delivery "committed", after its answer was written.
    assert ReceivedEvent.objects.get().status == "processed"
