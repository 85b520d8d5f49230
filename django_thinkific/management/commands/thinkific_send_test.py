"""``manage.py thinkific_send_test SUBSCRIPTION``: send a signed sample event to its URL."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from ...errors import ThinkificAPIError
from ...models import Subscription, max_length
from ...services.sending import send_test_event

#: The largest primary key a database column holds (BigAutoField).
MAX_PK = 2**63 - 1


def find(key: str) -> Subscription | None:
    """The subscription whose Thinkific id or primary key is ``key``; ``None`` for any other text.

    A primary key is ASCII digits only: ``str.isdigit()`` is also true for
    "²" or the Arabic-Indic digits, which ``int()`` refuses or reads differently.
    """
    id_limit = max_length(Subscription, "thinkific_id")
    if not key or "\x00" in key or len(key) > id_limit:
        return None
    match = Q(thinkific_id=key)
    if key.isascii() and key.isdigit() and int(key) <= MAX_PK:
        match |= Q(pk=int(key))
    return Subscription.objects.filter(match).order_by("-pk").first()


class Command(BaseCommand):
    help = (
        "Send a signed sample event for a subscription's topic to its target URL and report "
        "the HTTP status. SUBSCRIPTION is its primary key or its Thinkific id."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subscription", help="primary key or Thinkific id")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["subscription"].strip()
        subscription = find(key)
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
