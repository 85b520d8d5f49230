"""Review 1: admin changelist GET parameters that still give a 500.

The project's own rule (tests/test_admin_edges.py, issue 10 item 14, admin/lookups.py):
"bad GET parameters end as ``?e=1``, never a 500", in every time zone. Lookups the
check does not know (``__year``, ``__regex``) still reach the database or Python's
calendar unchecked.
"""

import pytest

from tests.factories import ReceivedEventFactory, SubscriptionFactory
from tests.test_admin_edges import EVENTS, SUBSCRIPTIONS, assert_answered

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "Etc/GMT+12"])
@pytest.mark.parametrize("year", ["10000", "0", "99999999999999999999"])
def test_event_changelist_year_lookup_outside_the_calendar(admin_client, settings, zone, year):
    settings.TIME_ZONE = zone
    ReceivedEventFactory()
    assert_answered(admin_client.get(EVENTS, {"received_at__year": year}))


def test_subscription_changelist_year_lookup_outside_the_calendar(admin_client):
    SubscriptionFactory()
    assert_answered(admin_client.get(SUBSCRIPTIONS, {"remote_created_at__year": "10000"}))


@pytest.mark.parametrize("params", [{"event_id__regex": "[["}, {"topic__iregex": "("}])
def test_event_changelist_malformed_regex(admin_client, params):
    ReceivedEventFactory()
    assert_answered(admin_client.get(EVENTS, params))
