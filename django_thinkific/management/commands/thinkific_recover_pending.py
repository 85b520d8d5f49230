"""``manage.py thinkific_recover_pending``: finish events left pending."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...conf import maximum
from ...services.dispatch import recover_pending


class Command(BaseCommand):
    help = (
        "Process (or, with DISPATCH='celery', queue again) received events left pending longer "
        "than PROCESSING_TIMEOUT: a task lost while the broker was down, a process that died."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000, help="at most this many events")

    def handle(self, *args: Any, **options: Any) -> None:
        limit, largest = options["limit"], maximum("rows")
        if limit < 1:
            raise CommandError("--limit must be at least 1")
        if limit > largest:  # no database takes it (SQLite: "datatype mismatch")
            raise CommandError(f"--limit must be between 1 and {largest}, not {limit}")
        report = recover_pending(limit=limit)
        if report.queued:
            message = f"{report.found} pending events found, {report.queued} queued again."
        else:
            message = (
                f"{report.found} pending events found: {report.processed} processed, "
                f"{report.failed} failed."
            )
        self.stdout.write(message)
