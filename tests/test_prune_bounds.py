"""Review 1: the prune and its tombstones at the edges.

README (receiving table): "the same event id after the prune deleted it (within
`REPLAY_WINDOW_DAYS` of its receipt) | 200, `{"status": "pruned", "duplicate": true}` |
nothing; no receiver runs".
README: `thinkific_prune [--days N] [--dry-run] [--batch-size N]`; E010 for a
`PRUNE_BATCH_SIZE` that is not a positive integer.
"""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_thinkific import tasks
from django_thinkific.models import PrunedEvent, ReceivedEvent
from django_thinkific.testing import capture_events, post_event, sample_event
from tests.factories import ReceivedEventFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("created_at", ["2999-01-01T00:00:00Z", "9999-12-01T00:00:00-10:00"])
def test_a_replay_after_the_prune_of_an_event_dated_in_the_future_runs_nothing(client, created_at):
    # The tombstone is only looked up for a created_at that is missing or over 12 h
    # old. A usable created_at in the future (a made-up test date, a clock gone wrong
    # at the sender) skips the look-up for ever: its replay is stored and run again.
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


def test_a_huge_batch_size_is_refused_in_one_line():
    ReceivedEventFactory(received_at=timezone.now() - timedelta(days=40))
    with pytest.raises(
        CommandError, match="--batch-size must be between 1 and 9223372036854775807"
    ):
        call_command("thinkific_prune", "--batch-size", str(10**20), stdout=io.StringIO())
    assert ReceivedEvent.objects.exists()
    call_command("thinkific_prune", "--batch-size", str(2**63 - 1), stdout=io.StringIO())
    assert not ReceivedEvent.objects.exists()


def test_a_prune_batch_size_that_passes_e010_does_not_break_the_nightly_task(thinkific):
    from django.core import checks

    thinkific(PRUNE_BATCH_SIZE=10**20)
    assert "django_thinkific.E010" in {m.id for m in checks.run_checks()}
    ReceivedEventFactory(received_at=timezone.now() - timedelta(days=40))
    assert tasks.prune_received_events.apply().result == 1
