"""A site that stored an unreadable timestamp recovers by migrating (issue 10, item 3)."""

from __future__ import annotations

import pytest
from django.db import DataError, connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from django_thinkific.models import ReceivedEvent, Subscription

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

APP = "django_thinkific"


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([(APP, target)])


def test_migrating_clears_timestamps_postgresql_stored_but_cannot_return(admin_client):
    migrate("0002_pruned_events_lost_attempts")
    events = ReceivedEvent._meta.db_table
    subs = Subscription._meta.db_table
    with connection.cursor() as cursor:
        # What an older release stored for a signed created_at of 9999-12-31T23:59:59-10:00.
        cursor.execute(
            f"INSERT INTO {events} (event_id, topic, resource, action, tenant_id, site,"  # noqa: S608
            " header_topic, payload, thinkific_created_at, status, received_at, attempts,"
            " lost_attempts, last_error) VALUES ('e-9999', 'order.created', 'order',"
            " 'created', '', '', '', '{}', '10000-01-01 09:59:59+00', 'processed', now(), 1,"
            " 0, '')"
        )
        cursor.execute(
            f"INSERT INTO {subs} (thinkific_id, topic, target_url, status, remote_created_at,"  # noqa: S608
            " remote_updated_at, created_by, updated_by, created_at, updated_at) VALUES"
            " ('w-1', 'order.created', 'https://shop.example.com/hook', 'active',"
            " '0001-01-01 00:00:00+00', '2026-01-01 00:00:00+00', '', '', now(), now())"
        )
    with pytest.raises(DataError, match="timestamp too large"):
        list(ReceivedEvent.objects.values_list("thinkific_created_at", flat=True))
    migrate("0003_unusable_timestamps")
    event = ReceivedEvent.objects.get(event_id="e-9999")  # readable again
    assert event.thinkific_created_at is None
    webhook = Subscription.objects.get(thinkific_id="w-1")
    assert webhook.remote_created_at is None
    assert webhook.remote_updated_at.year == 2026  # a usable value is kept
    assert (
        admin_client.get(reverse("admin:django_thinkific_receivedevent_changelist")).status_code
        == 200
    )
    assert admin_client.get(reverse("django_thinkific:event-list")).status_code == 200
