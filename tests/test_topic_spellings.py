"""Review 3: a delivery as Thinkific spells it reaches the topic's own signal."""

import pytest

from django_thinkific.testing import capture_events, post_event, sample_event


@pytest.mark.django_db
def test_a_subscription_cancelled_delivery_spelled_canceled_reaches_its_signal(client):
    """README: "a signal per topic" and ``receiver_for("subscription.cancelled")``.
    FACTS.md: Thinkific's subscription sample spells the action ``canceled`` while the
    topic is ``subscription.cancelled``. Such a delivery (for a webhook whose topic is
    ``subscription.cancelled``) is stored as ``subscription.canceled`` and the site's
    ``subscription_cancelled`` receivers never run; only ``webhook_received`` fires."""
    event = sample_event("subscription.cancelled", action="canceled")
    with capture_events("subscription.cancelled") as calls:
        response = post_event(client, event, HTTP_X_THINKIFIC_TOPIC="subscription.cancelled")
    assert response.status_code == 200
    assert len(calls) == 1
