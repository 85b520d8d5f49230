"""Pruning: the command, the task and the service behind them."""

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

pytestmark = pytest.mark.django_db


class TTY(io.StringIO):
    def isatty(self):
        return True


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


def test_batches_are_single_statements_without_loading_rows(thinkific):
    make(old=25, fresh=5)
    thinkific(PRUNE_BATCH_SIZE=10)
    loaded = []
    post_delete.connect(lambda **kw: loaded.append(kw), sender=ReceivedEvent, weak=False)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert tasks.prune_received_events.apply().get() == 25
    finally:
        post_delete.disconnect(sender=ReceivedEvent)
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 10 + 10 + 5
    assert all("LIMIT" in sql and "IN (SELECT" in sql for sql in deletes)
    assert not [q for q in queries if q["sql"].startswith("SELECT")]  # nothing read into Python
    assert loaded == []  # no model instance was built, even with a delete signal connected


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
        (["--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_command_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("thinkific_prune", *args)
