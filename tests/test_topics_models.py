"""The topic registry drives choices and signals (a delivery spelled as Thinkific spells
it reaches its topic's signal); models read well in the admin."""

import re

import pytest
from django.db import IntegrityError

from django_thinkific import signals
from django_thinkific.models import ReceivedEvent, Subscription
from django_thinkific.testing import capture_events, post_event, sample_event
from django_thinkific.topics import TOPIC_CHOICES, TOPICS, get_topic, split_topic
from tests.factories import ReceivedEventFactory, SubscriptionFactory

DOCUMENTED = """lead.created; order.created; order_transaction.succeeded,
order_transaction.failed, order_transaction.refunded; subscription.cancelled,
subscription.past_due, subscription.unpaid; user.signup, user.signin,
user.updated; enrollment.trial, enrollment.created, enrollment.progress,
enrollment.completed; course.created, course.updated, course.deleted;
lesson.completed; quiz.attempted; app.uninstalled; product.created,
product.updated, product.deleted; plan.updated"""


def test_every_documented_topic_is_registered():
    documented = re.findall(r"[a-z_]+\.[a-z_]+", DOCUMENTED)
    assert list(TOPICS) == documented
    assert len(TOPICS) == 25


@pytest.mark.parametrize("name", list(TOPICS))
def test_topic_has_parts_description_signal_and_choice(name):
    topic = get_topic(name)
    assert f"{topic.resource}.{topic.action}" == name
    assert str(topic.description).endswith(".")
    assert getattr(signals, name.replace(".", "_")) is signals.signal_for(name)
    assert (name, name) in TOPIC_CHOICES


def test_unknown_topic_has_no_registry_entry():
    assert get_topic("certificate.issued") is None
    assert split_topic("certificate.issued") == ("certificate", "issued")
    with pytest.raises(ValueError, match=r"resource\.action"):
        split_topic("nodot")


@pytest.mark.django_db
def test_factories_build_valid_rows():
    sub = SubscriptionFactory()
    event = ReceivedEventFactory(topic="enrollment.completed")
    sub.full_clean()
    event.full_clean()
    assert event.resource == "enrollment"
    assert event.action == "completed"


@pytest.mark.django_db
def test_str_and_verbose_names():
    sub = SubscriptionFactory(topic="order.created", target_url="https://shop.example.com/hook")
    event = ReceivedEventFactory(topic="order.created", event_id="20180126172320940835610")
    assert str(sub) == "order.created → https://shop.example.com/hook"
    assert str(event) == "order.created 20180126172320940835610"
    assert str(Subscription._meta.verbose_name_plural) == "Thinkific webhooks"
    assert str(ReceivedEvent._meta.verbose_name) == "received event"


@pytest.mark.django_db
def test_event_id_and_thinkific_id_are_unique():
    ReceivedEventFactory(event_id="1")
    with pytest.raises(IntegrityError):
        ReceivedEventFactory(event_id="1")


@pytest.mark.django_db
def test_thinkific_id_is_unique():
    SubscriptionFactory(thinkific_id="1")
    with pytest.raises(IntegrityError):
        SubscriptionFactory(thinkific_id="1")


def test_indexes_cover_admin_filters_and_pruning():
    indexed = [tuple(i.fields) for i in ReceivedEvent._meta.indexes]
    assert ("received_at",) in indexed
    assert ("status", "received_at") in indexed
    assert ("topic", "received_at") in indexed


# --- a topic as Thinkific spells it reaches the topic's own signal ------------------------


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
