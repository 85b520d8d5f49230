"""Review 1: the prune and its tombstones at the edges.

README (receiving table): "the same event id after the prune deleted it (within
`REPLAY_WINDOW_DAYS` of its receipt) | 200, `{"status": "pruned", "duplicate": true}` |
nothing; no receiver runs".
README: `thinkific_prune [--days N] [--dry-run] [--batch-size N]`; E010 for a
`PRUNE_BATCH_SIZE` that is not a positive integer.
"""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from django_thinkific import tasks
from django_thinkific.models import ReceivedEvent
from tests.factories import ReceivedEventFactory

pytestmark = pytest.mark.django_db


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
