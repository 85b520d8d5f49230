"""The sync's rules on their own: ``plan_sync`` over plain dictionaries (no database, no HTTP)."""

from datetime import datetime, timedelta, timezone

from django_thinkific.services.sync_plan import (
    SYNCED_FIELDS,
    Listing,
    SyncPlan,
    deleted_since,
    plan_sync,
)

STARTED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
BEFORE = STARTED - timedelta(minutes=5)
AFTER = STARTED + timedelta(seconds=1)


def fields(topic="order.created", url="https://example.com/hook", **extra):
    values = dict.fromkeys(SYNCED_FIELDS, "")
    values.update(topic=topic, target_url=url, status="active", **extra)
    return values


def row(pk, updated_at=BEFORE, **kwargs):
    return {"pk": pk, "updated_at": updated_at, **fields(**kwargs)}


def plan(webhooks=None, local=None, *, unusable=(), deleted=()):
    listing = Listing(webhooks=webhooks or {}, unusable=frozenset(unusable))
    return plan_sync(listing, local or {}, deleted=set(deleted), started=STARTED)


def test_nothing_listed_and_nothing_here_plans_nothing():
    assert plan() == SyncPlan()


def test_a_listed_webhook_with_no_row_is_created_in_listed_order():
    result = plan({"b": fields(), "a": fields()})
    assert (result.create, result.update, result.delete, result.unchanged) == (
        ("b", "a"),
        (),
        (),
        0,
    )


def test_a_webhook_deleted_here_meanwhile_is_not_brought_back():
    assert plan({"a": fields()}, deleted={"a"}).create == ()


def test_a_row_in_step_is_unchanged_and_a_differing_one_updated():
    local = {"same": row(1), "moved": row(2)}
    webhooks = {"same": fields(), "moved": fields(url="https://example.com/new")}
    result = plan(webhooks, local)
    assert (result.update, result.unchanged) == (("moved",), 1)


def test_every_synced_field_is_compared():
    for name in SYNCED_FIELDS:
        changed = {**fields(), name: "something else"}
        assert plan({"a": changed}, {"a": row(1)}).update == ("a",), name


def test_a_row_changed_here_since_the_start_is_neither_updated_nor_deleted():
    local = {"listed": row(1, updated_at=AFTER), "unlisted": row(2, updated_at=STARTED)}
    result = plan({"listed": fields(url="https://example.com/old")}, local)
    assert (result.update, result.delete, result.unchanged) == ((), (), 1)


def test_a_row_whose_webhook_is_gone_is_deleted_by_pk():
    assert plan({}, {"gone": row(7)}).delete == (7,)


def test_a_row_listed_only_by_an_unusable_item_is_kept():
    result = plan({}, {"odd": row(7)}, unusable={"odd"})
    assert (result.delete, result.keep) == ((), frozenset({"odd"}))


def test_deleted_since_is_a_row_gone_since_the_start_or_a_new_tombstone():
    assert deleted_since(
        existed={"kept", "gone"},
        buried={"old"},
        rows=["kept", "new-row"],
        tombstones=["old", "fresh"],
    ) == {"gone", "fresh"}
