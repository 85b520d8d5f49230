"""The REST API at the edges: every bad query parameter or path is a JSON 4xx, never a 500.

The filters' date edges, query parameters of every shape, a non-numeric id in a path
(a JSON 404, not Django's HTML page); a malformed body is a 400 naming the field, a 422
only a refusal by the topic rule or Thinkific. Driven through the REST client on SQLite
and PostgreSQL, by hand and with Hypothesis strategies that reach the edges (NUL,
non-ASCII, year 1/9999, offsets ±23:59, huge numbers).
"""

import base64
import json
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
import responses
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.factories import ReceivedEventFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

EVENTS = "/thinkific/api/events/"
SUBSCRIPTIONS = "/thinkific/api/subscriptions/"


def _at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=dt_timezone.utc)


def assert_400_naming(response, name):
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert list(response.json()) == [name], response.json()


def assert_json_404(response):
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


# --- ?topic= / ?status= --------------------------------------------------------------------

BAD_TEXT = ["order\x00created", "\x00", "order.created\x00"]


@pytest.mark.parametrize("value", BAD_TEXT)
@pytest.mark.parametrize("name", ["topic", "status"])
@pytest.mark.parametrize("path", [EVENTS, SUBSCRIPTIONS])
def test_a_nul_in_a_text_filter_is_400_naming_it(staff_api, path, name, value):
    ReceivedEventFactory()
    SubscriptionFactory()
    assert_400_naming(staff_api.get(path, {name: value}), name)


def test_subscription_filters_still_filter(staff_api):
    SubscriptionFactory(topic="order.created", status="active")
    SubscriptionFactory(topic="user.signup", status="inactive")
    SubscriptionFactory(topic="brand_new.topic", status="paused")  # Thinkific's own words

    def topics(params):
        response = staff_api.get(SUBSCRIPTIONS, params)
        assert response.status_code == 200, response.content
        return [row["topic"] for row in response.json()["results"]]

    assert topics({"topic": "user.signup"}) == ["user.signup"]
    assert topics({"status": "paused"}) == ["brand_new.topic"]
    assert topics({"topic": "", "status": ""}) == [
        "brand_new.topic",
        "order.created",
        "user.signup",
    ]
    assert topics({"topic": "é.ü"}) == []  # non-ASCII is a topic nobody has, not an error


def test_a_topic_longer_than_the_column_is_400(staff_api):
    for path in (EVENTS, SUBSCRIPTIONS):
        assert_400_naming(staff_api.get(path, {"topic": "x" * 101}), "topic")


# --- received_after / received_before ------------------------------------------------------

EDGE_INSTANTS = [
    "9999-12-31T23:59:59-10:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T10:00:00+00:00",  # fine in UTC, past 9999 for a site east of it
    "0001-01-01T00:00:00+10:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T23:00:00-00:59",  # fine in UTC, before year 1 for a site west of it
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01",
    "10000-01-01",
    "2024-02-30",
    "2024-05-01T24:00:00",
    "2024-05-01T00:00:00+24:00",
    "２０２４-05-01\x00",
]


@pytest.mark.parametrize("value", EDGE_INSTANTS)
@pytest.mark.parametrize("name", ["received_after", "received_before"])
def test_an_unusable_instant_is_400_naming_the_parameter(staff_api, name, value):
    ReceivedEventFactory()
    assert_400_naming(staff_api.get(EVENTS, {name: value}), name)


@pytest.mark.parametrize(
    ("zone", "value", "status"),
    [
        # A bare date is midnight in the site's time zone: year 1 ends up before
        # the calendar east of UTC (Tokyo) and just inside it west of UTC.
        ("Asia/Tokyo", "0001-01-01", 400),
        ("America/New_York", "0001-01-01", 400),
        ("Asia/Tokyo", "0001-01-02", 400),
        ("America/New_York", "0001-01-02", 200),
        ("Asia/Tokyo", "9999-12-31", 200),
        ("America/New_York", "9999-12-31", 400),
        ("Pacific/Kiritimati", "2024-05-01T00:00", 200),
    ],
)
def test_a_date_at_the_calendars_edge_in_the_site_time_zone(
    staff_api, settings, zone, value, status
):
    settings.TIME_ZONE = zone
    ReceivedEventFactory()
    for name in ("received_after", "received_before"):
        response = staff_api.get(EVENTS, {name: value})
        if status == 400:
            assert_400_naming(response, name)
        else:
            assert response.status_code == 200, response.content


def test_usable_offsets_and_dates_still_filter(staff_api):
    ReceivedEventFactory(event_id="a", received_at=_at(2024, 5, 1))
    ReceivedEventFactory(event_id="b", received_at=_at(2024, 5, 2))

    def ids(params):
        response = staff_api.get(EVENTS, params)
        assert response.status_code == 200, response.content
        return [row["event_id"] for row in response.json()["results"]]

    # 2024-05-02T12:00Z written with the widest offsets ISO 8601 allows (PostgreSQL
    # refuses offsets past 15:59: it must be given the instant in UTC).
    assert ids({"received_after": "2024-05-03T11:59:00+23:59"}) == ["b"]
    assert ids({"received_before": "2024-05-01T12:01:00-23:59"}) == ["a"]  # exclusive
    assert ids({"received_before": "2024-05-01T12:01:00+23:59"}) == []
    assert ids({"received_after": "2024-05-03T11:59:00 23:59"}) == ["b"]  # an unencoded "+"
    assert ids({"received_after": "0002-01-01", "received_before": "9998-12-31"}) == ["b", "a"]


# --- the cursor ----------------------------------------------------------------------------


def _cursor(text):
    return base64.b64encode(text.encode()).decode()


BAD_CURSORS = [
    "cD1nYXJiYWdl",  # p=garbage
    _cursor("p=garbage"),
    _cursor("p=\x00"),
    _cursor("p=9999-12-31 23:59:59-10:00"),
    _cursor("p=0001-01-01 00:00:00+10:00"),
    _cursor("p=2024-05-01 00:00:00+23:59"),
    _cursor("p=2024-05-01T00:00:00+00:00"),  # a "+" in a query string is a space
    _cursor("o=-1"),
    _cursor("r=x"),
    _cursor("p=é"),
    "not base64 at all!",
    "%%%",
    "\x00",
]


@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_tampered_cursor_is_400_naming_it(staff_api, cursor):
    ReceivedEventFactory.create_batch(3)
    assert_400_naming(staff_api.get(EVENTS, {"cursor": cursor, "page_size": 1}), "cursor")


def test_a_hand_made_cursor_with_a_usable_position_and_a_huge_offset_is_a_page(staff_api):
    ReceivedEventFactory(received_at=_at(2024, 5, 1))
    cursor = _cursor("p=2024-05-02T00:00:00Z&o=99999999999999999999")
    response = staff_api.get(EVENTS, {"cursor": cursor})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []  # DRF caps the offset (1000 rows)


def test_a_cursor_the_api_made_still_works(staff_api):
    for day in (1, 2, 3):
        ReceivedEventFactory(event_id=f"e{day}", received_at=_at(2024, 5, day))
    first = staff_api.get(EVENTS, {"page_size": 2}).json()
    second = staff_api.get(first["next"]).json()
    assert [row["event_id"] for row in second["results"]] == ["e1"]
    back = staff_api.get(second["previous"]).json()
    assert [row["event_id"] for row in back["results"]] == ["e3", "e2"]


# --- ids in paths --------------------------------------------------------------------------

BAD_IDS = ["abc", "%C2%84", "%00", "0", "-1", "1e3", "٣", "99999999999999999999", "1 "]


@pytest.mark.parametrize("pk", BAD_IDS)
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("get", SUBSCRIPTIONS + "{}/"),
        ("put", SUBSCRIPTIONS + "{}/"),
        ("patch", SUBSCRIPTIONS + "{}/"),
        ("delete", SUBSCRIPTIONS + "{}/"),
        ("post", SUBSCRIPTIONS + "{}/send-test/"),
        ("get", EVENTS + "{}/"),
        ("post", EVENTS + "{}/process-again/"),
    ],
)
def test_a_bad_id_in_a_path_is_a_json_404(staff_api, method, template, pk):
    SubscriptionFactory()
    ReceivedEventFactory()
    response = getattr(staff_api, method)(template.format(pk), {}, format="json")
    assert_json_404(response)


@pytest.mark.parametrize(
    "path",
    [
        EVENTS + "1/nonsense/",
        SUBSCRIPTIONS + "a.b/",
        "/thinkific/api/nothing-here/",
        "/thinkific/api/events/abc",  # no trailing slash: redirected, then JSON
    ],
)
def test_any_unknown_url_under_the_api_is_a_json_404(staff_api, path):
    ReceivedEventFactory()
    assert_json_404(staff_api.get(path, follow=True))


def test_an_unknown_url_under_the_api_is_still_guarded():
    response = APIClient().get("/thinkific/api/nothing-here/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")


def test_ids_and_suffixes_that_exist_still_work(staff_api):
    event = ReceivedEventFactory()
    sub = SubscriptionFactory()
    assert staff_api.get(f"{EVENTS}{event.pk}/").json()["event_id"] == event.event_id
    assert staff_api.get(f"{SUBSCRIPTIONS}{sub.pk}/").json()["thinkific_id"] == sub.thinkific_id
    assert staff_api.get(f"{EVENTS}{event.pk}.json").json()["event_id"] == event.event_id
    assert staff_api.get(EVENTS.rstrip("/")).status_code == 301  # APPEND_SLASH still applies
    assert reverse("django_thinkific:event-detail", args=[event.pk]) == f"{EVENTS}{event.pk}/"


# --- Hypothesis: whatever the values, a JSON answer below 500 -----------------------------

edge_text = st.one_of(
    st.sampled_from(["", "\x00", "\u200b", "é", "٣", "²", "9" * 40, "-0", "1e309", "NaN"]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=120),
)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
)
edge_dates = st.one_of(
    st.dates(), st.sampled_from([datetime(1, 1, 1).date(), datetime(9999, 12, 31).date()])
)
edge_instants = st.one_of(
    edge_dates.map(str),
    st.builds(
        lambda d, h, m, off, sep: f"{d}{sep}{h:02d}:{m:02d}:00{off}",
        edge_dates,
        st.integers(0, 23),
        st.integers(0, 59),
        st.one_of(st.just(""), st.just("Z"), offsets),
        st.sampled_from(["T", " "]),
    ),
    edge_text,
)
query_values = {
    "topic": edge_text,
    "status": st.one_of(st.sampled_from(["pending", "failed", "processed"]), edge_text),
    "received_after": edge_instants,
    "received_before": edge_instants,
    "cursor": st.one_of(
        edge_text, edge_text.map(_cursor), edge_instants.map(lambda v: _cursor(f"p={v}"))
    ),
    "page_size": st.one_of(st.integers().map(str), edge_text),
    "page": st.one_of(st.integers().map(str), edge_text),
}


def _assert_answered(response):
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    if response.status_code == 400:
        assert set(response.json()) <= set(query_values)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.fixed_dictionaries({}, optional=query_values))
@example(params={"received_after": "0001-01-01T00:00:00+23:59"})
@example(params={"received_before": "9999-12-31T23:59:59-23:59"})
@example(params={"topic": "\x00", "cursor": "cD1nYXJiYWdl"})
def test_event_list_answers_any_query_in_json(staff_api, params):
    _assert_answered(staff_api.get(EVENTS, params))


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.fixed_dictionaries({}, optional=query_values))
@example(params={"status": "\x00"})
@example(params={"page": "99999999999999999999"})
def test_subscription_list_answers_any_query_in_json(staff_api, params):
    _assert_answered(staff_api.get(SUBSCRIPTIONS, params))


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pk=st.one_of(
        st.integers().map(str),
        edge_text.filter(lambda s: "/" not in s and "?" not in s and "#" not in s),
    )
)
@example(pk="0.api")  # was DRF's format suffix: the browsable API's HTML 404
@example(pk="1.json")
def test_any_path_id_is_a_json_answer(staff_api, pk):
    from urllib.parse import quote

    for path in (f"{EVENTS}{quote(pk)}/", f"{SUBSCRIPTIONS}{quote(pk)}/"):
        response = staff_api.get(path, follow=True)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response["Content-Type"].startswith("application/json"), path


# --- error shapes: 400 for a malformed request, 422 only for Thinkific's refusal ----------


@pytest.mark.parametrize(
    "body",
    [
        {"topic": 123, "target_url": "https://shop.acme.io/hook"},
        {"topic": 1.5, "target_url": "https://shop.acme.io/hook"},
        {"topic": "order.created", "target_url": 5},
    ],
    ids=["int-topic", "float-topic", "int-url"],
)
def test_a_number_where_a_string_belongs_is_a_400(staff_api, fake_api, body):
    response = staff_api.post(SUBSCRIPTIONS, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, (response.status_code, response.content)
    wrong = next(field for field, value in body.items() if not isinstance(value, str))
    assert response.json() == {wrong: ["Not a valid string."]}  # names the field
    assert not fake_api.calls


def test_the_same_digits_as_a_string_are_judged_by_the_topic_rule(staff_api, fake_api):
    # The control: a string is a well-formed request, refused by the topic rule (422).
    body = {"topic": "123", "target_url": "https://shop.acme.io/hook"}
    response = staff_api.post(SUBSCRIPTIONS, json.dumps(body), content_type="application/json")
    assert response.status_code == 422, (response.status_code, response.content)
    assert not fake_api.calls


def test_a_number_in_a_patch_is_a_400(staff_api, fake_api):
    from tests.factories import SubscriptionFactory

    sub = SubscriptionFactory()
    response = staff_api.patch(
        f"{SUBSCRIPTIONS}{sub.pk}/", json.dumps({"topic": 42}), content_type="application/json"
    )
    assert response.status_code == 400, (response.status_code, response.content)
    assert response.json() == {"topic": ["Not a valid string."]}
    assert not fake_api.calls
    sub.refresh_from_db()
    assert sub.topic != "42"


# --- the .json suffix on every route, and ids too long for int() -------------------------


@pytest.mark.parametrize(
    "path",
    [
        SUBSCRIPTIONS + "sync.json",
        SUBSCRIPTIONS + "{sub}/send-test.json",
        EVENTS + "{event}/process-again.json",
    ],
)
def test_the_json_suffix_of_an_action_route_is_answered_not_a_500(staff_api, fake_api, path):
    """The router routes the ``.json`` suffix of every route (README: only ``.json``), the
    actions' too; each action was written without the ``format`` argument the suffix adds,
    so ``POST .../sync.json`` was a TypeError: a 500."""
    sub = SubscriptionFactory(target_url="https://shop.acme.io/hook")
    fake_api.responses.add(responses.POST, "https://shop.acme.io/hook", status=204)
    event = ReceivedEventFactory()
    response = staff_api.post(path.format(sub=sub.pk, event=event.pk), format="json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("digits", [4301, 5000, 100_000])
@pytest.mark.parametrize("template", [SUBSCRIPTIONS + "{}/", EVENTS + "{}/", EVENTS + "{}.json"])
def test_an_id_of_more_digits_than_int_reads_is_a_json_404(staff_api, template, digits):
    """README: an ``{id}`` "past the column's range" is a JSON 404. One past Python's
    4,300-digit limit on ``int()`` raised ValueError: a 500."""
    response = staff_api.get(template.format("9" * digits))
    assert_json_404(response)
