"""The subscriptions service: remote first, then local; sync mirrors Thinkific."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_thinkific.errors import (
    APIConnectionError,
    APIDisabled,
    APIKeyRefused,
    ServerError,
    ValidationFailed,
)
from django_thinkific.models import Subscription
from django_thinkific.services import subscriptions
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db
URL = "https://shop.acme.io/thinkific/webhooks/"


def test_create_goes_to_thinkific_then_stores_its_answer(fake_api):
    sub = subscriptions.create("order.created", URL)
    remote = fake_api.webhooks[sub.thinkific_id]
    assert (sub.topic, sub.target_url, sub.status) == ("order.created", URL, "active")
    assert remote["target_url"] == URL
    assert sub.created_by == "156118"
    assert sub.remote_created_at is not None
    assert sub.last_synced_at is not None
    assert Subscription.objects.count() == 1


@pytest.mark.parametrize(
    ("topic", "url", "errors"),
    [
        ("orders.created", URL, {"topic": ["invalid format"]}),
        ("order.created", "http://shop.acme.io/h", {"target_url": ["is not valid"]}),
        ("order.created", "https://localhost/h", {"target_url": ["is not valid"]}),
        ("order.created", "https://10.0.0.1/h", {"target_url": ["is not valid"]}),
        ("order.created", "https://acme.thinkific.com/h", {"target_url": ["is not valid"]}),
        ("order.created", "not a url", {"target_url": ["is not valid"]}),
    ],
)
def test_invalid_input_refused_locally_without_calling_out(fake_api, topic, url, errors):
    with pytest.raises(ValidationFailed) as info:
        subscriptions.create(topic, url)
    assert info.value.errors == errors
    assert fake_api.calls == []
    assert not Subscription.objects.exists()


def test_api_refusal_changes_nothing_locally(fake_api):
    fake_api.fail_next(422, {"errors": {"url": "is not valid"}})
    with pytest.raises(ValidationFailed) as info:
        subscriptions.create("order.created", URL)
    assert info.value.errors == {"target_url": ["is not valid"]}
    assert not Subscription.objects.exists()


def test_update_remote_then_local(fake_api):
    sub = subscriptions.create("order.created", URL)
    subscriptions.update(sub, topic="enrollment.completed", target_url="https://b.acme.io/h")
    sub.refresh_from_db()
    assert (sub.topic, sub.target_url) == ("enrollment.completed", "https://b.acme.io/h")
    assert fake_api.webhooks[sub.thinkific_id]["topic"] == "enrollment.completed"


def test_update_refused_leaves_row_as_it_was(fake_api):
    sub = subscriptions.create("order.created", URL)
    fake_api.fail_next(401, {"error": "Unauthorized"})
    with pytest.raises(APIKeyRefused):
        subscriptions.update(sub, topic="enrollment.completed", target_url=URL)
    sub.refresh_from_db()
    assert sub.topic == "order.created"


def test_delete_remote_then_local(fake_api):
    sub = subscriptions.create("order.created", URL)
    assert subscriptions.delete(sub) is True
    assert fake_api.webhooks == {}
    assert not Subscription.objects.exists()


def test_delete_of_webhook_already_gone_remotely_is_success(fake_api):
    sub = SubscriptionFactory(thinkific_id="does-not-exist")
    assert subscriptions.delete(sub) is False
    assert not Subscription.objects.exists()


def test_delete_refused_keeps_the_row(fake_api):
    sub = subscriptions.create("order.created", URL)
    fake_api.fail_next(500, times=4)
    with pytest.raises(ServerError):
        subscriptions.delete(sub)
    assert Subscription.objects.filter(pk=sub.pk).exists()


def test_api_disabled_or_no_key_is_a_clear_error(thinkific):
    thinkific(API_KEY=None)
    with pytest.raises(APIDisabled, match="API_KEY"):
        subscriptions.create("order.created", URL)
    thinkific(API_KEY="k", API_ENABLED=False)
    with pytest.raises(APIDisabled, match="disabled"):
        subscriptions.sync()


# --- sync ---------------------------------------------------------------------------------


def fill(fake, n):
    topics = ["order.created", "enrollment.completed", "user.signup", "lesson.completed"]
    for i in range(n):
        fake.add_webhook(
            topics[i % 4], f"https://shop{i}.acme.io/hook", id=f"2020022721323362{i:07d}"
        )


def test_sync_500_webhooks_over_20_pages_with_bounded_queries(fake_api):
    fill(fake_api, 500)
    with CaptureQueriesContext(connection) as queries:
        report = subscriptions.sync(page_size=25)
    assert (report.pages, report.created, report.updated, report.removed) == (20, 500, 0, 0)
    assert Subscription.objects.count() == 500
    row = Subscription.objects.get(thinkific_id="20200227213233620000007")
    assert (row.topic, row.target_url) == ("lesson.completed", "https://shop7.acme.io/hook")
    # Bulk, not per webhook: the ids and the deletions' tombstones there before the
    # listing, one (locked) SELECT of what exists and one of the tombstones, the INSERTs
    # the backend needs for 500 rows (1 on PostgreSQL, ~6 on SQLite's 999-parameter
    # limit), one UPDATE.
    kinds = [q["sql"].split()[0] for q in queries]
    fields = [f for f in Subscription._meta.concrete_fields if not f.primary_key]
    batch = min(subscriptions.BATCH_SIZE, connection.ops.bulk_batch_size(fields, [None] * 500))
    assert kinds.count("SELECT") == 4
    assert kinds.count("INSERT") == -(-500 // batch)
    assert kinds.count("UPDATE") <= 1
    assert kinds.count("DELETE") == 0
    assert len(queries) < report.pages
    assert len([c for c in fake_api.calls if c[0] == "GET"]) == 20


def test_sync_updates_removes_and_keeps_with_bounded_queries(fake_api):
    fill(fake_api, 500)
    subscriptions.sync(page_size=25)
    for wid in list(fake_api.webhooks)[:30]:
        del fake_api.webhooks[wid]
    for wid in list(fake_api.webhooks)[:40]:
        fake_api.webhooks[wid]["target_url"] = "https://moved.acme.io/h"
    fake_api.add_webhook("course.deleted", "https://new.acme.io/h")
    with CaptureQueriesContext(connection) as queries:
        report = subscriptions.sync(page_size=25)
    assert (report.created, report.updated, report.removed, report.unchanged) == (1, 40, 30, 430)
    assert Subscription.objects.count() == 471
    assert Subscription.objects.filter(target_url="https://moved.acme.io/h").count() == 40
    kinds = [q["sql"].split()[0] for q in queries]
    assert kinds.count("SELECT") == 4
    assert kinds.count("DELETE") == 1  # 30 rows, one statement
    assert len(queries) < report.pages
    second = subscriptions.sync(page_size=25)
    assert (second.created, second.updated, second.removed, second.unchanged) == (0, 0, 0, 471)


def test_sync_keeps_unknown_topics_and_creator_numbers(fake_api):
    fake_api.add_webhook("certificate.issued", "https://a.acme.io/h", created_by=1, updated_by=2)
    subscriptions.sync()
    row = Subscription.objects.get()
    assert (row.topic, row.created_by, row.updated_by) == ("certificate.issued", "1", "2")


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, ServerError), (401, APIKeyRefused)],
)
def test_failure_mid_listing_changes_nothing(fake_api, status, error):
    fill(fake_api, 100)
    subscriptions.sync(page_size=25)
    for wid in list(fake_api.webhooks)[:50]:
        del fake_api.webhooks[wid]  # a real sync would remove these...
    calls = len(fake_api.calls)
    fake_api.add_webhook("order.created", "https://new.acme.io/h")
    # ...but the second page fails, every time
    original = fake_api.handle

    def fail_second_page(method, url, headers, body):
        if len(fake_api.calls) >= calls + 1 and "next=" in url:
            fake_api.calls.append((method, url))
            return status, {}, b'{"error": "boom"}'
        return original(method, url, headers, body)

    fake_api.handle = fail_second_page
    with pytest.raises(error):
        subscriptions.sync(page_size=25)
    assert Subscription.objects.count() == 100
    assert not Subscription.objects.filter(target_url="https://new.acme.io/h").exists()


def test_unreachable_api_changes_nothing(thinkific):
    thinkific(API_BASE_URL="http://127.0.0.1:9/api/v2", API_TIMEOUT=1)
    subscriptions._client_for.cache_clear()
    SubscriptionFactory()
    with pytest.raises(APIConnectionError):
        subscriptions.sync()
    assert Subscription.objects.count() == 1
    subscriptions._client_for.cache_clear()


def test_rows_created_during_a_sync_are_not_removed_by_it(fake_api):
    """An admin creating a webhook while a sync reads the list must not lose it."""
    fill(fake_api, 30)
    created = []

    def create_midway(page):
        if page.number == 1:
            created.append(subscriptions.create("order.created", "https://during.acme.io/h"))

    subscriptions.sync(page_size=25, on_page=create_midway)
    assert Subscription.objects.filter(pk=created[0].pk).exists()


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("http://127.0.0.1:8000/thinkific/webhooks/", True),
        ("http://localhost:8000/thinkific/webhooks/", True),
        ("http://[::1]:8000/hook", True),
        ("http://shop.acme.io/hook", False),  # a public host still needs https
        ("https://shop.acme.io/hook", True),
        ("http://10.0.0.8/hook", False),
    ],
)
def test_insecure_targets_setting_only_relaxes_loopback(thinkific, url, accepted):
    thinkific(ALLOW_INSECURE_TARGETS=True)
    if accepted:
        subscriptions.validate("order.created", url)
    else:
        with pytest.raises(ValidationFailed):
            subscriptions.validate("order.created", url)


# --- a sync never undoes what the service layer did while it ran --------------------------
#
# README (thinkific_sync): "Two syncs at once are safe, and a sync never undoes what was
# changed here while it ran: a row created, changed or deleted through the service layer
# after the sync began is left as it is." A webhook created and deleted again while the
# sync reads the list is in the list it read but not in the table: no ghost row for it.


def test_a_webhook_created_and_deleted_during_a_sync_is_not_brought_back(fake_api):
    fake_api.add_webhook("order.created", "https://a.acme.io/hook")
    fake_api.add_webhook("order.created", "https://b.acme.io/hook")
    made = []

    def meanwhile(page):
        if page.number == 1:  # an operator adds a webhook in the admin...
            made.append(subscriptions.create("lead.created", "https://during.acme.io/hook"))
        elif made and page.items and page.items[0]["id"] == made[0].thinkific_id:
            subscriptions.delete(made[0])  # ...and deletes it again a moment later

    subscriptions.sync(page_size=1, on_page=meanwhile)
    assert made
    assert made[0].thinkific_id not in fake_api.webhooks  # gone at Thinkific
    assert not Subscription.objects.filter(thinkific_id=made[0].thinkific_id).exists()

    report_after = subscriptions.sync()  # and a later sync has nothing to undo either
    assert (report_after.created, report_after.removed) == (0, 0)


def test_a_webhook_added_and_deleted_in_the_admin_during_a_sync_is_not_brought_back(
    admin_client, fake_api
):
    from django_thinkific.models import DeletedWebhook

    fake_api.add_webhook("order.created", "https://a.acme.io/hook")
    admin = "/admin/django_thinkific/subscription/"

    def meanwhile(page):
        added = admin_client.post(
            f"{admin}add/", {"topic": "lead.created", "target_url": "https://d.acme.io/h"}
        )
        assert added.status_code == 302, added.content
        row = Subscription.objects.get(target_url="https://d.acme.io/h")
        gone = admin_client.post(f"{admin}{row.pk}/delete/", {"post": "yes"})
        assert gone.status_code == 302
        # Listed by a sync that read Thinkific before the deletion reached it:
        fake_api.webhooks[row.thinkific_id] = {
            "id": row.thinkific_id,
            "topic": "lead.created",
            "target_url": "https://d.acme.io/h",
        }

    report = subscriptions.sync(on_page=meanwhile)
    assert report.created == 1  # a.acme.io, not the deleted one
    assert list(Subscription.objects.values_list("target_url", flat=True)) == [
        "https://a.acme.io/hook"
    ]
    assert DeletedWebhook.objects.count() == 1


def test_a_deletion_before_the_sync_began_does_not_hide_a_webhook_thinkific_lists(fake_api):
    # Deleted here while Thinkific answered 404; Thinkific lists it again later (its own
    # state wins): a sync that begins after the deletion mirrors what it reads.
    sub = SubscriptionFactory(thinkific_id="20240101000000000000001")
    assert subscriptions.delete(sub) is False
    fake_api.add_webhook("order.created", "https://a.acme.io/hook", id=sub.thinkific_id)
    report = subscriptions.sync()
    assert report.created == 1
    assert Subscription.objects.filter(thinkific_id=sub.thinkific_id).exists()


def test_a_sync_forgets_tombstones_older_than_a_day(fake_api):
    from datetime import timedelta

    from django.utils import timezone

    from django_thinkific.models import DeletedWebhook

    for tid in ("old", "recent"):
        fake_api.add_webhook("order.created", f"https://{tid}.acme.io/hook", id=tid)
        subscriptions.delete(SubscriptionFactory(thinkific_id=tid))
    DeletedWebhook.objects.filter(thinkific_id="old").update(
        deleted_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    subscriptions.sync()
    assert list(DeletedWebhook.objects.values_list("thinkific_id", flat=True)) == ["recent"]
