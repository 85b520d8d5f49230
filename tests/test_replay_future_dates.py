"""Review 2: a pruned event's replay runs its receivers again when its signed
created_at lies in the future (the tombstone look-up is skipped)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from django_thinkific.models import PrunedEvent, ReceivedEvent
from django_thinkific.testing import capture_events, post_event, sample_event

pytestmark = pytest.mark.django_db


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "created_at",
    [
        iso(timezone.now() + timedelta(days=2)),  # a clock ahead / a made-up date
        "2999-01-01T00:00:00Z",
        "9999-12-01T00:00:00-10:00",  # usable in every zone, far future
    ],
    ids=["two-days-ahead", "year-2999", "year-9999"],
)
def test_a_replay_of_a_pruned_future_dated_event_runs_nothing(client, created_at):
    """README table: "the same event id after the prune deleted it (within
    REPLAY_WINDOW_DAYS of its receipt) | 200, {"status": "pruned", "duplicate": true}
    | nothing; no receiver runs". SECURITY.md lists as left open only replays older
    than the window without a usable created_at, and hand-deleted events.

    A delivery whose signed created_at is in the future skips the tombstone
    look-up, so once pruned, its captured bytes are stored and processed again."""
    event = sample_event("order.created", created_at=created_at)
    body = json.dumps(event).encode()
    with capture_events("order.created") as calls:
        assert post_event(client, body).status_code == 200
        ReceivedEvent.objects.update(received_at=timezone.now() - timedelta(days=31))
        call_command("thinkific_prune", stdout=io.StringIO())
        assert PrunedEvent.objects.filter(event_id=event["id"]).exists()
        replay = post_event(client, body)
    assert replay.status_code == 200
    assert replay.json() == {"id": event["id"], "status": "pruned", "duplicate": True}
    assert len(calls) == 1
    assert not ReceivedEvent.objects.exists()
