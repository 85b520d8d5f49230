"""The sync against an unlucky Thinkific (issue 10, items 3, 9, 10 and 17).

Each is driven through what an operator uses: the ``thinkific_sync`` command, the
REST sync endpoint and the admin's "Sync from Thinkific" button; the file runs on
SQLite and, in the PostgreSQL pass, on PostgreSQL.
"""

import io
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_thinkific.errors import BadResponse
from django_thinkific.models import Subscription
from django_thinkific.services import subscriptions
from django_thinkific.timestamps import usable

pytestmark = pytest.mark.django_db
ADMIN = "/admin/django_thinkific/subscription/"
REST_SYNC = "/thinkific/api/subscriptions/sync/"
URL = "https://shop.acme.io/hook"


def fill(fake, n):
    for i in range(n):
        fake.add_webhook("order.created", f"https://shop{i}.acme.io/hook", id=f"2020{i:019d}")


def during_page(fake, number, action):
    """Run ``action`` while the fake answers the ``number``-th ``GET /webhooks``."""
    original = fake._list
    seen = []

    def listing(query):
        seen.append(query)
        if len(seen) == number:
            action()
        return original(query)

    fake._list = listing
    return seen


def sync_three_ways(surface, admin_client, staff_api):
    """Run a sync through one operator surface; what it said, as text."""
    if surface == "command":
        out = io.StringIO()
        call_command("thinkific_sync", stdout=out)
        return out.getvalue()
    if surface == "rest":
        response = staff_api.post(REST_SYNC)
        assert response.status_code == 200, response.content
        return str(response.json())
    response = admin_client.post(f"{ADMIN}sync/", follow=True)
    assert response.status_code == 200
    return response.content.decode()


SURFACES = ["command", "rest", "admin"]


# --- item 9: a sync never undoes what the service layer did meanwhile --------------------


def test_a_webhook_deleted_during_a_sync_is_not_brought_back(fake_api):
    fill(fake_api, 30)
    subscriptions.sync(page_size=25)
    victim = Subscription.objects.get(thinkific_id=f"2020{3:019d}")  # listed on page 1
    during_page(fake_api, 2, lambda: subscriptions.delete(victim))
    report = subscriptions.sync(page_size=25)
    assert not Subscription.objects.filter(thinkific_id=victim.thinkific_id).exists()
    assert victim.thinkific_id not in fake_api.webhooks
    assert report.created == 0
    assert Subscription.objects.count() == 29


def test_a_webhook_changed_during_a_sync_keeps_its_new_url(fake_api):
    fill(fake_api, 30)
    subscriptions.sync(page_size=25)
    sub = Subscription.objects.get(thinkific_id=f"2020{3:019d}")
    new = "https://moved.acme.io/hook"
    during_page(
        fake_api,
        2,
        lambda: subscriptions.update(sub, topic="user.signup", target_url=new),
    )
    subscriptions.sync(page_size=25)
    sub.refresh_from_db()
    assert (sub.topic, sub.target_url) == ("user.signup", new)
    assert fake_api.webhooks[sub.thinkific_id]["target_url"] == new
    # The next sync, which began after the change, has nothing to undo either.
    report = subscriptions.sync(page_size=25)
    sub.refresh_from_db()
    assert (report.updated, sub.target_url) == (0, new)


def test_a_webhook_changed_at_thinkific_during_a_sync_is_still_mirrored(fake_api):
    """Only rows changed *here* after the start are left alone, not the rest of the sync."""
    fill(fake_api, 30)
    subscriptions.sync(page_size=25)
    other = f"2020{28:019d}"  # on page 2, read after the change

    def change_remotely():
        fake_api.webhooks[other]["target_url"] = "https://elsewhere.acme.io/h"

    during_page(fake_api, 2, change_remotely)
    report = subscriptions.sync(page_size=25)
    assert report.updated == 1
    assert Subscription.objects.get(thinkific_id=other).target_url == (
        "https://elsewhere.acme.io/h"
    )


# --- item 10: odd items in Thinkific's answers -------------------------------------------


@pytest.mark.parametrize("surface", SURFACES)
def test_odd_items_are_skipped_and_reported(fake_api, admin_client, staff_api, surface):
    fake_api.add_webhook("order.created", URL, id="1" * 65)
    fake_api.webhooks["only-an-id"] = {"id": "only-an-id"}
    fake_api.webhooks["no-url"] = {"id": "no-url", "topic": "order.created", "target_url": ""}
    fake_api.webhooks["nul"] = {"id": "nul", "topic": "order.\x00created", "target_url": URL}
    fake_api.add_webhook("order.created", URL, id="fine")
    said = sync_three_ways(surface, admin_client, staff_api)
    assert list(Subscription.objects.values_list("thinkific_id", flat=True)) == ["fine"]
    assert not Subscription.objects.filter(topic="").exists()
    if surface != "rest":
        assert "4 skipped" in said, said
    for why in ("longer than 64 characters", "no topic", "no target url", "NUL character"):
        assert why in said, (why, said)


def test_a_skipped_item_keeps_its_row(fake_api):
    """An item Thinkific still lists, however odd, is not "gone": its row stays."""
    fake_api.add_webhook("order.created", URL, id="kept")
    subscriptions.sync()
    fake_api.add_webhook("order.created", URL, id="12345")
    subscriptions.sync()
    fake_api.webhooks["kept"] = {"id": "kept", "topic": None}
    fake_api.webhooks["12345"] = {"id": 12345, "target_url": None}  # a number, as in the schema
    report = subscriptions.sync()
    assert (report.removed, len(report.skipped)) == (0, 2)
    assert set(Subscription.objects.values_list("thinkific_id", "target_url")) == {
        ("kept", URL),
        ("12345", URL),
    }


def test_a_topic_without_a_dot_send_test_says_why(fake_api, admin_client, staff_api):
    fake_api.add_webhook("nodot", URL, id="w1")
    subscriptions.sync()
    sub = Subscription.objects.get()
    assert sub.topic == "nodot"
    fake_api.responses.add("POST", URL, status=200)

    with pytest.raises(CommandError) as info:
        call_command("thinkific_send_test", "w1")
    assert "resource.action" in str(info.value)
    assert "\n" not in str(info.value)

    response = staff_api.post(f"/thinkific/api/subscriptions/{sub.pk}/send-test/")
    assert response.status_code == 422, response.content
    assert "resource.action" in str(response.json())

    response = admin_client.post(
        ADMIN, {"action": "send_test_event_action", "_selected_action": [sub.pk]}, follow=True
    )
    assert response.status_code == 200
    assert "resource.action" in response.content.decode()
    assert len([c for c in fake_api.responses.calls if c.request.url == URL]) == 0


def endless(fake, *, meta):
    """Every page has one new webhook and a cursor never seen before."""
    count = [0]

    def listing(query):
        count[0] += 1
        page = {"has_next": True, "next_page": f"cursor-{count[0]}", **meta}
        item = {"id": f"w{count[0]}", "topic": "order.created", "target_url": URL}
        return fake._answer(200, {"items": [item], "meta": {"page": page}})

    fake._list = listing
    return count


@pytest.mark.parametrize(
    "meta",
    [
        {"total_items": 3, "total_pages": 3, "page_items": 1},
        {"total_items": 3, "page_items": 1},
        {"total_pages": 3},
    ],
)
@pytest.mark.parametrize("surface", SURFACES)
def test_a_cursor_that_never_ends_is_refused(fake_api, admin_client, staff_api, surface, meta):
    count = endless(fake_api, meta=meta)
    if surface == "command":
        with pytest.raises(CommandError) as info:
            call_command("thinkific_sync", stdout=io.StringIO())
        said = str(info.value)
        assert "Nothing was changed" in said
    elif surface == "rest":
        response = staff_api.post(REST_SYNC)
        assert response.status_code == 502
        said = response.json()["detail"]
    else:
        said = admin_client.post(f"{ADMIN}sync/", follow=True).content.decode()
        assert "Nothing was changed" in said
    assert "more pages than" in said
    assert count[0] <= 7
    assert not Subscription.objects.exists()


def test_a_cursor_without_totals_is_bounded(fake_api, monkeypatch):
    monkeypatch.setattr("django_thinkific.client.MAX_PAGES", 40)
    count = endless(fake_api, meta={})
    with pytest.raises(BadResponse, match="more pages than"):
        subscriptions.sync()
    assert count[0] == 40


def test_a_webhook_added_while_listing_is_not_a_paging_error(fake_api):
    """The bound leaves room for a list that grows by a page while it is read."""
    fill(fake_api, 50)
    during_page(fake_api, 2, lambda: fill_more(fake_api))
    report = subscriptions.sync(page_size=25)
    assert report.total >= 50


def fill_more(fake):
    for i in range(50, 60):
        fake.add_webhook("order.created", f"https://more{i}.acme.io/h", id=f"2020{i:019d}")


# --- items 3 and 17: timestamps from the API -----------------------------------------------


def test_a_timestamp_without_an_offset_is_utc(fake_api):
    fake_api.add_webhook(
        "order.created",
        URL,
        created_at="2020-02-27T21:32:33.625839",
        updated_at="2020-02-27T21:32:33",
    )
    out = io.StringIO()
    call_command("thinkific_sync", stdout=out)
    assert "1 created" in out.getvalue()
    row = Subscription.objects.get()
    assert row.remote_created_at == datetime(2020, 2, 27, 21, 32, 33, 625839, dt_timezone.utc)
    assert row.remote_updated_at == datetime(2020, 2, 27, 21, 32, 33, tzinfo=dt_timezone.utc)


def test_nanoseconds_and_offsets_as_thinkific_sends_them(fake_api):
    fake_api.add_webhook("order.created", URL, created_at="2020-02-27T21:32:33.62583953-05:00")
    subscriptions.sync()
    row = Subscription.objects.get()
    assert row.remote_created_at == datetime(2020, 2, 28, 2, 32, 33, 625839, dt_timezone.utc)


@pytest.mark.parametrize("surface", SURFACES)
def test_timestamps_at_the_calendars_edge_are_kept_as_none(
    fake_api, admin_client, staff_api, surface
):
    fake_api.add_webhook(
        "order.created",
        URL,
        id="edge",
        created_at="9999-12-31T23:59:59-10:00",
        updated_at="0001-01-01T00:00:00+10:00",
    )
    fake_api.add_webhook(
        "user.signup", URL, id="odd", created_at=20200227, updated_at="2020-02-30T00:00:00Z"
    )
    said = sync_three_ways(surface, admin_client, staff_api)
    assert "2 created" in said or "'created': 2" in said, said
    for row in Subscription.objects.all():
        assert (row.remote_created_at, row.remote_updated_at) == (None, None)
    # Every later sync, the admin list and the REST list still work.
    sync_three_ways(surface, admin_client, staff_api)
    assert admin_client.get(ADMIN).status_code == 200
    assert staff_api.get("/thinkific/api/subscriptions/").status_code == 200
    edge = Subscription.objects.get(thinkific_id="edge")
    assert admin_client.get(f"{ADMIN}{edge.pk}/change/").status_code == 200


# --- item 3: bad arguments to the commands are one line ------------------------------------


@pytest.mark.parametrize(
    "key", ["²", "١٢", "9" * 30, "-1", "", " ", "\x00", "1\x00", "x" * 200, "🙂", "1.5"]
)
def test_send_test_bad_argument_is_one_line(key):
    with pytest.raises(CommandError) as info:
        call_command("thinkific_send_test", key)
    assert "No subscription" in str(info.value)
    assert "\n" not in str(info.value)


def test_send_test_by_pk_still_works_with_spaces(fake_api):
    fake_api.add_webhook("order.created", URL, id="w1")
    subscriptions.sync()
    sub = Subscription.objects.get()
    fake_api.responses.add("POST", URL, status=204)
    out = io.StringIO()
    call_command("thinkific_send_test", f" {sub.pk} ", stdout=out)
    assert "HTTP 204" in out.getvalue()


@pytest.mark.parametrize(
    "args", [["--page-size", "²"], ["--page-size", "x"], ["--page-size", "-5"], ["extra"]]
)
def test_sync_bad_argument_is_one_line(args):
    with pytest.raises(CommandError) as info:
        call_command("thinkific_sync", *args, stdout=io.StringIO())
    assert "\n" not in str(info.value).strip()


# --- fuzz: whatever items Thinkific lists, the sync stores only usable rows -----------------

edge_times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)).flatmap(
        lambda d: st.sampled_from(["", "Z", "+10:00", "-10:00", "+23:59", "-05:00"]).map(
            lambda offset: d.isoformat() + offset
        )
    ),
    st.sampled_from(
        ["9999-12-31T23:59:59-10:00", "0001-01-01T00:00:00+10:00", "2020-02-30T00:00:00Z"]
    ),
    st.integers(),
    st.floats(),
    st.none(),
    st.text(max_size=30),
)
odd_text = st.one_of(
    st.text(max_size=70),
    st.text(min_size=63, max_size=66, alphabet="0123456789"),
    st.text(min_size=99, max_size=102, alphabet="ab."),
    st.sampled_from(["order.created", "nodot", "a.b", "", " ", "order.\x00created"]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),
    st.booleans(),
    st.none(),
)
items = st.one_of(
    st.fixed_dictionaries(
        {"id": odd_text},
        optional={
            "topic": odd_text,
            "target_url": odd_text | st.just(URL),
            "status": odd_text,
            "created_at": edge_times,
            "updated_at": edge_times,
            "created_by": odd_text,
            "updated_by": odd_text,
        },
    ),
    st.none(),
    st.integers(),
    st.lists(st.integers(), max_size=2),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(listed=st.lists(items, max_size=8))
def test_any_items_sync_without_error_and_store_only_usable_rows(fake_api, listed):
    def listing(query):
        page = {"has_next": False, "next_page": "", "total_items": len(listed)}
        return fake_api._answer(200, {"items": listed, "meta": {"page": page}})

    fake_api._list = listing
    Subscription.objects.all().delete()  # examples share the test's transaction
    report = subscriptions.sync()
    # The table mirrors the usable items; every other item is named in ``skipped``.
    assert Subscription.objects.count() == report.total
    assert report.total + len(report.skipped) <= len(listed)
    if not report.skipped:
        assert report.total == len({str(item["id"]) for item in listed})
    for row in Subscription.objects.all():
        assert row.topic
        assert row.target_url
        assert len(row.thinkific_id) <= 64
        for moment in (row.remote_created_at, row.remote_updated_at):
            assert moment is None or usable(moment)
    # What was stored can be read back and shown.
    list(Subscription.objects.values())
