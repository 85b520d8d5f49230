"""Hypothesis: no body or header makes the receiver answer 500 or store an unsigned body."""

import io
import itertools
import json
import math
import unicodedata
from datetime import datetime

import pytest
from django.core.handlers.wsgi import WSGIRequest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import sign
from django_thinkific.timestamps import usable
from django_thinkific.views import webhook
from tests.settings import API_KEY

URL = "/thinkific/webhooks/"
pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _texts(max_size: int) -> st.SearchStrategy[str]:
    """Text up to ``max_size``, and text of exactly the edge lengths around it."""
    edge = st.integers(max_size - 2, max_size + 1)
    return st.text(max_size=max_size) | st.builds(lambda n, ch: ch * n, edge, st.characters())


# Floats across the whole range: the edges (1e16, where repr starts writing an
# exponent; the subnormals; the largest double) as well as the middle.
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [1e16, -1e16, 1.5e16, 9007199254740993.0, 1e22, 1e300, 1.7976931348623157e308, 5e-324, 1e-7]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | floats | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# ISO 8601 timestamps at the calendar's edges (year 1 and 9999) with offsets of up to a day,
# anywhere in between, and the shapes Thinkific uses (Z, no offset).
edge_datetimes = (
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(1, 1, 3))
    | st.datetimes(min_value=datetime(9999, 12, 29), max_value=datetime(9999, 12, 31, 23, 59, 59))
    | st.datetimes()
)
timestamps = st.builds(
    lambda moment, zone: moment.isoformat() + zone,
    edge_datetimes,
    st.sampled_from(["", "Z"]) | st.integers(-1439, 1439).map(_offset),
)
# Ids as Thinkific writes them (digits, as a string or a JSON number) and as it should not
# (floats, which lose digits, so they are refused).
ids = st.one_of(
    st.text(max_size=70),
    st.integers(),
    st.integers(min_value=10**62, max_value=10**65),
    floats,
)
scalar = st.one_of(st.text(max_size=80), st.integers(), st.booleans(), st.none(), floats)
envelopes = st.fixed_dictionaries(
    {"id": ids, "resource": _texts(50) | scalar, "action": _texts(50) | scalar},
    optional={
        "tenant_id": scalar | _texts(64),
        "created_at": timestamps | scalar,
        "payload": json_values,
    },
)
# Headers as a WSGI server hands them over (latin-1-decoded bytes, so UTF-8 arrives as
# mojibake), and as wider text, as a test client or an ASGI server may give it.
utf8_as_wsgi = st.text(max_size=60).map(lambda text: text.encode().decode("latin-1"))
header_text = (
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=100)
    | utf8_as_wsgi
    | st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)
)


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
        assert not isinstance(envelope["id"], float)  # a float id loses digits: refused
        # Examples share one test transaction, so an id may repeat: then it is a duplicate.
        stored = ReceivedEvent.objects.get(event_id=str(envelope["id"]))
        if not response.json()["duplicate"]:
            assert stored.topic == f"{envelope['resource']}.{envelope['action']}"
            assert len(stored.topic) <= ReceivedEvent._meta.get_field("topic").max_length
            assert stored.thinkific_created_at is None or usable(stored.thinkific_created_at)
            if isinstance(envelope.get("payload"), dict):
                assert typed(stored.payload) == typed(envelope["payload"])


_ids = itertools.count(1)


@FUZZ
@given(payload=st.dictionaries(st.text(max_size=5), json_values, max_size=6), site=header_text)
def test_what_is_stored_is_what_was_sent(client, payload, site):
    """Numbers keep their value and type, headers their text, on every database."""
    event_id = f"fuzz-{next(_ids)}"
    body = json.dumps(
        {"id": event_id, "resource": "order", "action": "created", "payload": payload}
    )
    response = client.post(
        URL,
        data=body.encode(),
        content_type="application/json",
        HTTP_X_THINKIFIC_HMAC_SHA256=sign(body.encode(), API_KEY),
        HTTP_X_THINKIFIC_SUBDOMAIN=site,
    )
    if response.status_code == 400:  # NUL or a lone surrogate somewhere: named in the answer
        assert "contains" in response.json()["error"]
        return
    assert response.status_code == 200, response.content
    stored = ReceivedEvent.objects.get(event_id=event_id)
    assert typed(stored.payload) == typed(payload)
    try:
        sent_text = site.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        sent_text = site
    if len(sent_text) <= 255 and all(unicodedata.category(ch) != "Cc" for ch in sent_text):
        assert stored.site == sent_text


def typed(value):
    """``value`` with each number paired with its type (``-0.0`` compares as ``0.0``:
    PostgreSQL's numeric has no negative zero)."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    assert not isinstance(value, float) or math.isfinite(value)
    return (type(value).__name__, value)


class Trickle(io.BytesIO):
    """A server's input that hands the body over a few bytes at a time."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self.step = step

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self.step if size is None or size < 0 else min(size, self.step))


@FUZZ
@given(
    note=st.integers(0, 300).map(lambda n: "x" * n),
    limit=st.integers(60, 400),
    step=st.integers(1, 500),
)
def test_chunked_bodies_are_read_whole_or_refused_over_the_limit(rf, thinkific, note, limit, step):
    """A body without Content-Length (chunked), as gunicorn hands it over."""
    thinkific(MAX_BODY_SIZE=limit)
    body = json.dumps(
        {"id": f"chunked-{next(_ids)}", "resource": "order", "action": "created", "note": note}
    ).encode()
    environ = rf.post(URL, data=b"", content_type="application/json").environ
    environ.pop("CONTENT_LENGTH", None)
    environ.update(
        {
            "HTTP_TRANSFER_ENCODING": "chunked",
            "HTTP_X_THINKIFIC_HMAC_SHA256": sign(body, API_KEY),
            "wsgi.input": Trickle(body, step),
            "wsgi.input_terminated": True,
        }
    )
    response = webhook(WSGIRequest(environ))
    assert response.status_code == (413 if len(body) > limit else 200), response.content
