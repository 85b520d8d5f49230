"""Pruning: the command, the task and the service behind them, and the tombstones it
leaves at the edges of the replay window."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models.signals import post_delete
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_thinkific import tasks
from django_thinkific.models import ReceivedEvent
from tests.factories import ReceivedEventFactory
from tests.helpers import TTY

pytestmark = pytest.mark.django_db


def make(old: int, fresh: int, *, old_days: int = 31, fresh_days: int = 29):
    now = timezone.now()
    ReceivedEventFactory.create_batch(old, received_at=now - timedelta(days=old_days))
    ReceivedEventFactory.create_batch(fresh, received_at=now - timedelta(days=fresh_days))


def test_task_deletes_what_is_older_than_the_retention_and_returns_the_count():
    make(old=7, fresh=3)
    assert tasks.prune_received_events.apply().get() == 7
    assert ReceivedEvent.objects.count() == 3
    assert tasks.prune_received_events.apply().get() == 0


def test_retention_setting_and_days_argument(thinkific):
    make(old=2, fresh=3, old_days=11, fresh_days=5)
    thinkific(EVENT_RETENTION_DAYS=10)
    assert tasks.prune_received_events.apply().get() == 2
    assert tasks.prune_received_events.apply(kwargs={"days": 4}).get() == 3


def test_batches_are_pk_range_statements_without_loading_rows(thinkific, connect):
    make(old=25, fresh=5)
    thinkific(PRUNE_BATCH_SIZE=10)
    loaded = []
    connect(post_delete, lambda **kw: loaded.append(kw), sender=ReceivedEvent)
    with CaptureQueriesContext(connection) as queries:
        assert tasks.prune_received_events.apply().get() == 25
    sql = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    deletes = [s for s in sql if 'DELETE FROM "django_thinkific_receivedevent"' in s]
    forget = [s for s in sql if s.startswith('DELETE FROM "django_thinkific_prunedevent"')]
    selects = [s for s in sql if s.startswith("SELECT")]
    assert len(selects) == 1  # the id bounds: two numbers, not rows
    assert len(deletes) == 4  # 3 pk ranges (10 + 10 + 5) and one empty catch-up pass
    assert all('"id" >' in s and "LIMIT" not in s for s in deletes[:3])
    assert "IN (SELECT" in deletes[3]
    assert len(forget) == 1  # one empty pass over the tombstones past the replay window
    assert loaded == []  # no model instance was built, even with a delete signal connected
    assert ReceivedEvent.objects.count() == 5


def test_stragglers_with_out_of_order_ids_are_pruned_too():
    """An old event stored late (a higher id than fresh ones) is still pruned."""
    make(old=3, fresh=4)
    ReceivedEventFactory(received_at=timezone.now() - timedelta(days=90))  # highest id, oldest
    assert tasks.prune_received_events.apply().get() == 4
    assert ReceivedEvent.objects.count() == 4
    assert not ReceivedEvent.objects.filter(received_at__lt=timezone.now() - timedelta(days=30))


def test_nothing_to_prune_is_one_cheap_pass():
    make(old=0, fresh=3)
    assert tasks.prune_received_events.apply().get() == 0
    assert ReceivedEvent.objects.count() == 3


def test_command_reports_the_count():
    make(old=4, fresh=1)
    out = io.StringIO()
    call_command("thinkific_prune", stdout=out)
    assert out.getvalue().startswith("Deleted 4 received events older than 30 days (before ")
    assert out.getvalue().rstrip().endswith("in 1 batches.")
    assert ReceivedEvent.objects.count() == 1


def test_command_dry_run_deletes_nothing():
    make(old=4, fresh=1)
    out = io.StringIO()
    call_command("thinkific_prune", "--dry-run", "--days", "30", stdout=out)
    assert out.getvalue().startswith("4 received events older than 30 days (before ")
    assert out.getvalue().rstrip().endswith("would be deleted.")
    assert ReceivedEvent.objects.count() == 5


def test_command_progress_per_batch_on_a_terminal():
    make(old=5, fresh=0)
    out = TTY()
    call_command("thinkific_prune", "--batch-size", "2", stdout=out)
    assert out.getvalue().splitlines()[:3] == [
        "batch 1: 2 deleted so far",
        "batch 2: 4 deleted so far",
        "batch 3: 5 deleted so far",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days must be at least 1"),
        (["--batch-size", "0"], "--batch-size must be between 1 and"),
    ],
)
def test_command_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("thinkific_prune", *args)


# --- batch sizes at their limits ---------------------------------------------------------


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
