"""A pruned event's replay runs nothing (tombstones), whatever its signed created_at says
(a date in the future included), and races with the prune end the same way."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from django_thinkific import tasks
from django_thinkific.checks import check_settings
from django_thinkific.models import PrunedEvent, ReceivedEvent
from django_thinkific.services import retention
from django_thinkific.signals import order_created
from django_thinkific.testing import capture_events, post_event, sample_event
from tests.factories import ReceivedEventFactory

pytestmark = pytest.mark.django_db


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def age_all(days):
    """Make every stored event as old as if it had been received ``days`` ago."""
    ReceivedEvent.objects.update(received_at=timezone.now() - timedelta(days=days))


@pytest.mark.parametrize(
    "created_at",
    [
        iso(timezone.now() - timedelta(days=31)),  # as it was when first delivered
        iso(timezone.now() + timedelta(days=2)),  # a clock ahead / a made-up date
        "2999-01-01T00:00:00Z",  # a made-up test date
        "9999-12-01T00:00:00-10:00",  # usable in every zone, far future
    ],
    ids=["31-days-ago", "two-days-ahead", "year-2999", "year-9999"],
)
def test_a_replay_after_the_prune_is_a_duplicate_and_runs_nothing(client, created_at):
    """README table: "the same event id after the prune deleted it (within
    REPLAY_WINDOW_DAYS of its receipt) | 200, {"status": "pruned", "duplicate": true}
    | nothing; no receiver runs", whatever the signed created_at says: a date in
    the future skips the tombstone look-up on the way in, never on a replay."""
    event = sample_event("order.created", created_at=created_at)
    body = json.dumps(event).encode()
    with capture_events("order.created") as calls:
        assert post_event(client, body).status_code == 200
        age_all(31)
        out = io.StringIO()
        call_command("thinkific_prune", stdout=out)
        assert "Deleted 1 received events" in out.getvalue()
        assert not ReceivedEvent.objects.exists()
        assert PrunedEvent.objects.filter(event_id=event["id"]).exists()
        # An attacker (or a confused proxy) sends the captured bytes again:
        replay = post_event(client, body)
    assert replay.status_code == 200
    assert replay.json() == {"id": event["id"], "status": "pruned", "duplicate": True}
    assert len(calls) == 1
    assert not ReceivedEvent.objects.exists()


@pytest.mark.parametrize("dispatch", ["sync", "celery"])
def test_replay_of_an_event_without_a_date_is_recognised(
    client, thinkific, dispatch, django_capture_on_commit_callbacks
):
    thinkific(DISPATCH=dispatch)
    event = sample_event("order.created")
    del event["created_at"]
    body = json.dumps(event).encode()
    with capture_events("order.created") as calls:
        with django_capture_on_commit_callbacks(execute=True):
            post_event(client, body)
        age_all(40)
        assert tasks.prune_received_events.apply().result == 1
        with django_capture_on_commit_callbacks(execute=True) as queued:
            assert post_event(client, body).json()["status"] == "pruned"
    assert len(calls) == 1
    assert queued == []


def test_thinkifics_test_events_with_made_up_dates_are_accepted(client):
    """The test button sends 2014 dates with 2019 ids: never refused by default."""
    event = sample_event("enrollment.completed", created_at="2014-06-03T09:12:44.000Z")
    response = post_event(client, event)
    assert response.status_code == 200
    assert response.json()["duplicate"] is False


def test_tombstones_are_forgotten_after_the_replay_window(client, thinkific):
    thinkific(REPLAY_WINDOW_DAYS=60)
    now = timezone.now()
    PrunedEvent.objects.create(event_id="kept", received_at=now - timedelta(days=59))
    PrunedEvent.objects.create(event_id="forgotten", received_at=now - timedelta(days=61))
    report = retention.prune()
    assert report.forgotten == 1
    assert list(PrunedEvent.objects.values_list("event_id", flat=True)) == ["kept"]


def test_prune_report_says_how_many_ids_were_forgotten(thinkific):
    thinkific(REPLAY_WINDOW_DAYS=30)
    PrunedEvent.objects.create(event_id="old", received_at=timezone.now() - timedelta(days=31))
    out = io.StringIO()
    call_command("thinkific_prune", stdout=out)
    assert "1 pruned event id older than 30 days forgotten" in out.getvalue()


def test_max_event_age_refuses_old_deliveries_where_the_site_opts_in(client, thinkific):
    thinkific(MAX_EVENT_AGE=7)
    old = sample_event("order.created", created_at=iso(timezone.now() - timedelta(days=8)))
    fresh = sample_event("order.created", created_at=iso(timezone.now() - timedelta(days=6)))
    undated = sample_event("order.created", created_at=None)
    refused = post_event(client, old)
    assert refused.status_code == 400
    assert "MAX_EVENT_AGE" in refused.json()["error"]
    assert post_event(client, fresh).status_code == 200
    assert post_event(client, undated).status_code == 200  # nothing to judge it by
    assert set(ReceivedEvent.objects.values_list("event_id", flat=True)) == {
        fresh["id"],
        undated["id"],
    }


@pytest.mark.parametrize(
    ("values", "ids"),
    [
        ({"REPLAY_WINDOW_DAYS": 10}, ["django_thinkific.E012"]),  # below the 30-day retention
        ({"REPLAY_WINDOW_DAYS": 0}, ["django_thinkific.E012"]),
        ({"REPLAY_WINDOW_DAYS": "365"}, ["django_thinkific.E012"]),
        ({"REPLAY_WINDOW_DAYS": 30, "EVENT_RETENTION_DAYS": 30}, []),
        ({"MAX_EVENT_AGE": 0}, ["django_thinkific.E013"]),
        ({"MAX_EVENT_AGE": True}, ["django_thinkific.E013"]),
        ({"MAX_EVENT_AGE": 90}, []),
        ({"MAX_EVENT_AGE": None}, []),
    ],
)
def test_replay_settings_are_checked(thinkific, values, ids):
    thinkific(**values)
    assert [m.id for m in check_settings()] == ids


# ---------------------------------------------------------------- races (item 11)


def test_a_redelivery_whose_row_the_prune_deletes_mid_way_is_a_duplicate(client):
    """INSERT ... ON CONFLICT met the row, the prune deleted it before the read."""
    event = sample_event("order.created")
    body = json.dumps(event).encode()
    assert post_event(client, body).status_code == 200
    age_all(31)

    pruned = []

    def prune_after_the_insert(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("INSERT INTO") and "receivedevent" in sql and not pruned:
            pruned.append(True)
            retention.prune()
        return result

    with connection.execute_wrapper(prune_after_the_insert):
        response = post_event(client, body)
    assert response.status_code == 200
    assert response.json()["status"] == "pruned"
    assert not ReceivedEvent.objects.exists()


def test_a_redelivery_whose_row_was_deleted_by_hand_mid_way_is_stored_again(client):
    event = sample_event("order.created")
    body = json.dumps(event).encode()
    assert post_event(client, body).status_code == 200
    deleted = []

    def delete_after_the_first_insert(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("INSERT INTO") and "receivedevent" in sql and not deleted:
            deleted.append(True)
            ReceivedEvent.objects.filter(event_id=event["id"]).delete()
        return result

    with connection.execute_wrapper(delete_after_the_first_insert):
        response = post_event(client, body)
    assert response.status_code == 200
    assert response.json()["duplicate"] is False
    assert ReceivedEvent.objects.filter(event_id=event["id"]).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_process_again_of_an_event_pruned_while_its_receivers_run_reports_it_gone(
    staff_api, connect
):
    event = ReceivedEventFactory(
        status="processed", attempts=1, received_at=timezone.now() - timedelta(days=31)
    )

    def pruned_meanwhile(sender, event, **kwargs):
        def prune():
            try:
                retention.prune()
            finally:
                connections.close_all()

        worker = threading.Thread(target=prune)
        worker.start()
        worker.join(timeout=30)

    connect(order_created, pruned_meanwhile)
    response = staff_api.post(reverse("django_thinkific:event-process-again", args=[event.pk]))
    assert response.status_code == 200
    assert response.json() == {"processed": 0, "failed": 0, "skipped": 0, "gone": 1, "event": None}
    assert PrunedEvent.objects.filter(event_id=event.event_id).exists()
