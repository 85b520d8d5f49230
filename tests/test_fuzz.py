"""Hypothesis: no body or header makes the receiver answer 500 or store an unsigned body."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import sign
from tests.settings import API_KEY

URL = "/thinkific/webhooks/"
pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)
scalar = st.one_of(st.text(max_size=80), st.integers(), st.booleans(), st.none(), st.floats())
envelopes = st.fixed_dictionaries(
    {"id": scalar, "resource": scalar, "action": scalar},
    optional={"tenant_id": scalar, "created_at": scalar, "payload": json_values},
)
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=100)


@FUZZ
@given(
    body=st.binary(max_size=2000), signature=st.one_of(st.none(), header_text), topic=header_text
)
def test_unsigned_random_bodies_are_refused_and_never_stored(client, body, signature, topic):
    headers = {"HTTP_X_THINKIFIC_TOPIC": topic}
    if signature is not None:
        headers["HTTP_X_THINKIFIC_HMAC_SHA256"] = signature
    before = ReceivedEvent.objects.count()
    response = client.post(URL, data=body, content_type="application/json", **headers)
    assert response.status_code == 401
    assert ReceivedEvent.objects.count() == before


@FUZZ
@given(body=st.binary(max_size=2000))
def test_signed_random_bytes_never_500(client, body):
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_THINKIFIC_HMAC_SHA256=sign(body, API_KEY),
    )
    assert response.status_code in (200, 400)


@FUZZ
@given(envelope=envelopes, site=header_text, topic=header_text)
def test_signed_random_envelopes_never_500(client, envelope, site, topic):
    body = json.dumps(envelope).encode()
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_THINKIFIC_HMAC_SHA256=sign(body, API_KEY),
        HTTP_X_THINKIFIC_SUBDOMAIN=site,
        HTTP_X_THINKIFIC_TOPIC=topic,
    )
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        # Examples share one test transaction, so an id may repeat: then it is a duplicate.
        stored = ReceivedEvent.objects.get(event_id=str(envelope["id"]))
        if not response.json()["duplicate"]:
            assert stored.topic == f"{envelope['resource']}.{envelope['action']}"
