"""``manage.py thinkific_send_test SUBSCRIPTION``: send a signed sample event to its URL."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from ...errors import ThinkificAPIError
from ...models import Subscription
from ...services.test_events import send_test_event


class Command(BaseCommand):
    help = (
        "Send a signed sample event for a subscription's topic to its target URL and report "
        "the HTTP status. SUBSCRIPTION is its primary key or its Thinkific id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subscription", help="primary key or Thinkific id")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["subscription"]
        match = Q(thinkific_id=key) | (Q(pk=int(key)) if key.isdigit() else Q(pk__in=[]))
        subscription = Subscription.objects.filter(match).order_by("-pk").first()
        if subscription is None:
            raise CommandError(f"No subscription with primary key or Thinkific id {key!r}.")
        try:
            result = send_test_event(subscription)
        except ThinkificAPIError as exc:
            raise CommandError(str(exc)) from None
        line = f"{subscription.topic} -> {subscription.target_url}: {result.describe()}"
        if not result.ok:
            raise CommandError(line)
        self.stdout.write(self.style.SUCCESS(line))
