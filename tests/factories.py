"""factory-boy factories for both models."""

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from django_thinkific.models import ReceivedEvent, Subscription
from django_thinkific.topics import TOPICS

TOPIC_NAMES = list(TOPICS)


class SubscriptionFactory(DjangoModelFactory):
    class Meta:
        model = Subscription

    thinkific_id = factory.Sequence(lambda n: f"2020022721323362583{n:04d}")
    topic = factory.Iterator(TOPIC_NAMES)
    target_url = factory.Sequence(lambda n: f"https://shop{n}.example.com/thinkific/webhooks/")
    status = Subscription.Status.ACTIVE
    remote_created_at = factory.LazyFunction(timezone.now)
    remote_updated_at = factory.LazyAttribute(lambda o: o.remote_created_at)
    created_by = "156118"
    updated_by = "156118"
    last_synced_at = factory.LazyFunction(timezone.now)


class ReceivedEventFactory(DjangoModelFactory):
    class Meta:
        model = ReceivedEvent

    event_id = factory.Sequence(lambda n: f"20180126172320{n:09d}")
    topic = "order.created"
    resource = factory.LazyAttribute(lambda o: o.topic.rpartition(".")[0])
    action = factory.LazyAttribute(lambda o: o.topic.rpartition(".")[2])
    tenant_id = "3"
    site = "acme-academy"
    payload = factory.LazyAttribute(lambda o: {"id": 19796, "topic": o.topic})
    status = ReceivedEvent.Status.PENDING
    received_at = factory.LazyFunction(timezone.now)


def grant_all(user):
    """An operator: a user with every permission of the app (the admin and REST API check them)."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="django_thinkific")
    )
    return user


def staff_user(*codenames, username=None, password="pw", **fields):  # noqa: S107
    """A staff account holding only the app permissions named (none: it may do nothing here)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    users = get_user_model().objects
    username = username or f"staff-{users.count()}"
    user = users.create_user(username, password=password, is_staff=True, **fields)
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(codename=codename, content_type__app_label="django_thinkific")
        )
    return user


def operator(username="ops", password="ops-pw"):  # noqa: S107
    """A staff account with every permission of the app (``ops`` / ``ops-pw``)."""
    return grant_all(staff_user(username=username, password=password))
