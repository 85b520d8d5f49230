"""The admin lists at the edges: bad GET parameters end as ``?e=1``, never a 500, in every
time zone, including lookups no filter writes (``__year`` past the calendar, a malformed
``__regex``, ``pk`` the alias of ``id``); and a topic Thinkific added later is shown and
filterable like any other.
"""

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from django_thinkific.models import ReceivedEvent
from tests.factories import ReceivedEventFactory, SubscriptionFactory

pytestmark = pytest.mark.django_db

EVENTS = "/admin/django_thinkific/receivedevent/"
SUBSCRIPTIONS = "/admin/django_thinkific/subscription/"


def assert_answered(response):
    """A page, or Django's own answer to bad lookups: a redirect to ``?e=1``."""
    assert response.status_code in (200, 302), (response.status_code, response.content[:300])
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1"), response["Location"]


BAD_PARAMS = [
    {"q": "\x00"},
    {"q": "2018\x00"},
    {"topic__exact": "\x00"},
    {"topic": "order\x00created"},
    {"status__exact": "\x00"},
    {"status": "\x00"},
    {"received_at__gte": "garbage"},
    {"received_at__gte": "0001-01-01"},
    {"received_at__lt": "9999-12-31"},
    {"received_at__gte": "0001-01-01 00:00:00+10:00"},
    {"received_at__lt": "9999-12-31 23:59:59-10:00"},
    {"received_at__gte": "2024-05-01 00:00:00+23:59"},
    {"received_at__gte": "\x00"},
    {"received_at__isnull": "maybe"},
    {"event_id": "\x00"},
    {"id__gt": "99999999999999999999"},
    {"id": "abc"},
    {"attempts__gte": "-1"},
    {"o": "99"},
    {"o": "\x00"},
    {"p": "99999999999999999999"},
    {"p": "\x00"},
    {"all": ""},
]


@pytest.mark.parametrize("params", BAD_PARAMS, ids=lambda p: urlencode(p))
def test_event_changelist_never_fails_on_bad_parameters(admin_client, params):
    ReceivedEventFactory()
    assert_answered(admin_client.get(EVENTS, params))


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
@pytest.mark.parametrize("params", BAD_PARAMS[7:13], ids=lambda p: urlencode(p))
def test_event_changelist_dates_in_the_site_time_zone(admin_client, settings, zone, params):
    settings.TIME_ZONE = zone
    ReceivedEventFactory()
    assert_answered(admin_client.get(EVENTS, params))


SUBSCRIPTION_PARAMS = [
    {"q": "\x00"},
    {"q": "https://shop.acme.io/\x00"},
    {"topic": "\x00"},
    {"topic__exact": "\x00"},
    {"status": "\x00"},
    {"status__exact": "\x00"},
    {"remote_created_at__gte": "0001-01-01 00:00:00+10:00"},
    {"thinkific_id": "\x00"},
]


@pytest.mark.parametrize("params", SUBSCRIPTION_PARAMS, ids=lambda p: urlencode(p))
def test_subscription_changelist_never_fails_on_bad_parameters(admin_client, params):
    SubscriptionFactory()
    assert_answered(admin_client.get(SUBSCRIPTIONS, params))


def test_a_good_search_and_filters_still_work(admin_client):
    ReceivedEventFactory(event_id="111", status="failed")
    ReceivedEventFactory(event_id="222")
    response = admin_client.get(EVENTS, {"q": "111", "status__exact": "failed"})
    assert response.status_code == 200
    assert [e.event_id for e in response.context["cl"].result_list] == ["111"]


admin_values = st.one_of(
    st.sampled_from(["\x00", "0001-01-01", "9999-12-31", "0001-01-01 00:00:00+23:59", "é", ""]),
    st.text(max_size=40),
    st.integers().map(str),
)
admin_keys = st.sampled_from(
    [
        "q",
        "topic__exact",
        "status__exact",
        "received_at__gte",
        "received_at__lt",
        "o",
        "p",
        "e",
        "event_id",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.dictionaries(admin_keys, admin_values, max_size=3))
@example(params={"q": "\x00", "e": "1"})
def test_event_changelist_answers_any_parameters(admin_client, params):
    assert_answered(admin_client.get(EVENTS, params))


# --- item 19: a topic Thinkific added later ------------------------------------------------

NEW_TOPIC = "certificate.issued"  # not in topics.TOPICS


def test_an_unknown_topic_is_shown_in_the_list_and_the_detail(admin_client):
    event = ReceivedEventFactory(topic=NEW_TOPIC, event_id="777")
    listing = admin_client.get(EVENTS).content.decode()
    assert f'<td class="field-topic">{NEW_TOPIC}</td>' in listing
    detail = admin_client.get(f"{EVENTS}{event.pk}/change/").content.decode()
    assert f'<div class="readonly">{NEW_TOPIC}</div>' in detail


def test_the_topic_filter_offers_known_and_present_topics(admin_client):
    ReceivedEventFactory(topic=NEW_TOPIC, event_id="777")
    ReceivedEventFactory(topic="order.created", event_id="778")
    response = admin_client.get(EVENTS)
    html = response.content.decode()
    assert f"topic__exact={NEW_TOPIC}" in html
    assert "topic__exact=order.created" in html
    assert "topic__exact=enrollment.completed" in html  # known, none received yet
    picked = admin_client.get(EVENTS, {"topic__exact": NEW_TOPIC})
    assert picked.status_code == 200
    assert [e.event_id for e in picked.context["cl"].result_list] == ["777"]


def test_an_unknown_topic_in_the_rest_api_and_its_schema(admin_client):
    from django_thinkific.api.serializers import EventListSerializer

    ReceivedEventFactory(topic=NEW_TOPIC)
    field = EventListSerializer().fields["topic"]
    assert not hasattr(field, "choices")  # a schema from the model lists no enum
    assert ReceivedEvent._meta.get_field("topic").choices is None


def test_an_unknown_topic_of_a_synced_webhook_is_shown(admin_client):
    SubscriptionFactory(topic=NEW_TOPIC)
    listing = admin_client.get(SUBSCRIPTIONS).content.decode()
    assert f"topic__exact={NEW_TOPIC}" in listing  # in the filter
    assert f">{NEW_TOPIC}</a></th>" in listing  # the row's first column, not "-"


# --- lookups the check must know too: __year outside the calendar, malformed regexes ------


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
@pytest.mark.parametrize("year", ["10000", "0", "99999999999999999999"])
def test_event_changelist_year_lookup_outside_the_calendar(admin_client, settings, zone, year):
    settings.TIME_ZONE = zone
    ReceivedEventFactory()
    assert_answered(admin_client.get(EVENTS, {"received_at__year": year}))


def test_subscription_changelist_year_lookup_outside_the_calendar(admin_client):
    SubscriptionFactory()
    assert_answered(admin_client.get(SUBSCRIPTIONS, {"remote_created_at__year": "10000"}))


@pytest.mark.parametrize("params", [{"event_id__regex": "[["}, {"topic__iregex": "("}])
def test_event_changelist_malformed_regex(admin_client, params):
    ReceivedEventFactory()
    assert_answered(admin_client.get(EVENTS, params))


# --- pk, the alias of id, is checked like id ----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/django_thinkific/receivedevent/?pk__regex=(",
        "/admin/django_thinkific/subscription/?pk__regex=(",
    ],
)
def test_a_pk_lookup_is_checked_like_an_id_lookup(admin_client, url):
    """README/lookups: bad GET parameters end as ?e=1 "never a 500"; a lookup
    none of the filters writes (``__regex``) is refused. ``pk`` is an alias of
    ``id`` that skips the check."""
    from tests.factories import ReceivedEventFactory, SubscriptionFactory

    ReceivedEventFactory()
    SubscriptionFactory()
    response = admin_client.get(url)
    assert response.status_code == 302
    assert "e=1" in response["Location"]
