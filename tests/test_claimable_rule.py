"""One rule for "claimable": the SQL filter of ``claim`` and the instance check of
``needs_processing`` / ``in_flight`` come from the same clauses, and agree on every state."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from django_thinkific.models import ReceivedEvent
from django_thinkific.services import processing
from tests.factories import ReceivedEventFactory

pytestmark = pytest.mark.django_db

STATUSES = ["pending", "processed", "failed"]
ATTEMPTS = [0, 1, 3]
LAST_ATTEMPT = [None, "fresh", "stale"]
LOST = [0, processing.MAX_LOST_ATTEMPTS - 1, processing.MAX_LOST_ATTEMPTS]


def _every_state():
    now = timezone.now()
    when = {None: None, "fresh": now, "stale": now - timedelta(hours=2)}
    return [
        ReceivedEventFactory(
            status=status, attempts=attempts, last_attempt_at=when[last], lost_attempts=lost
        )
        for status, attempts, last, lost in itertools.product(
            STATUSES, ATTEMPTS, LAST_ATTEMPT, LOST
        )
    ]


@pytest.mark.parametrize("force", [False, True])
def test_the_sql_filter_and_the_instance_check_agree_on_every_state(force):
    events = _every_state()
    in_sql = set(
        ReceivedEvent.objects.filter(processing._claimable(force=force)).values_list(
            "pk", flat=True
        )
    )
    clauses = processing._claimable_clauses(force=force)
    in_python = {e.pk for e in events if any(processing._holds(e, c) for c in clauses)}
    assert in_python == in_sql
    assert 0 < len(in_sql) < len(events)
    if not force:
        assert {e.pk for e in events if processing.needs_processing(e)} == in_sql


def test_the_documented_rule():
    """Claimable: failed (fewer than MAX_LOST_ATTEMPTS lost); pending and never attempted;
    pending but claimed longer ago than PROCESSING_TIMEOUT."""
    now = timezone.now()
    old = now - timedelta(hours=2)
    cases = [
        (dict(status="failed", lost_attempts=0), True),
        (dict(status="failed", lost_attempts=processing.MAX_LOST_ATTEMPTS), False),
        (dict(status="pending", attempts=0), True),
        (dict(status="pending", attempts=1, last_attempt_at=old), True),
        (dict(status="pending", attempts=1, last_attempt_at=None), True),
        (dict(status="pending", attempts=1, last_attempt_at=now), False),
        (dict(status="processed", attempts=1, last_attempt_at=old), False),
    ]
    for fields, claimable in cases:
        event = ReceivedEvent(**fields)
        assert processing.needs_processing(event) is claimable, fields
    fresh = ReceivedEvent(status="pending", attempts=1, last_attempt_at=now)
    assert processing.in_flight(fresh)
