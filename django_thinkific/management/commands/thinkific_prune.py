"""``manage.py thinkific_prune``: delete received events past the retention window."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...conf import get_settings, maximum
from ...services.retention import prune


class Command(BaseCommand):
    help = (
        "Delete received events older than EVENT_RETENTION_DAYS (or --days), in batches of "
        "PRUNE_BATCH_SIZE (or --batch-size), each in its own short transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="keep this many days instead of the setting")
        parser.add_argument("--dry-run", action="store_true", help="only count what would go")
        parser.add_argument("--batch-size", type=int, help="rows per delete statement")

    def handle(self, *args: Any, **options: Any) -> None:
        days = (
            options["days"] if options["days"] is not None else get_settings().event_retention_days
        )
        if days < 1:
            raise CommandError("--days must be at least 1")
        most = maximum("days")
        if days > most:
            raise CommandError(f"--days must be at most {most} (back to year 1), not {days}")
        batch_size = options["batch_size"]
        largest = maximum("rows")
        if batch_size is not None and not 1 <= batch_size <= largest:
            raise CommandError(f"--batch-size must be between 1 and {largest}, not {batch_size}")
        progress = self.stdout.isatty() and options["verbosity"] >= 1

        def on_batch(number: int, deleted: int) -> None:
            self.stdout.write(f"batch {number}: {deleted} deleted so far")

        report = prune(
            days=days,
            batch_size=options["batch_size"],
            dry_run=options["dry_run"],
            on_batch=on_batch if progress else None,
        )
        when = report.cutoff.strftime("%Y-%m-%d %H:%M:%S %Z")
        if report.dry_run:
            self.stdout.write(
                f"{report.deleted} received events older than {days} days "
                f"(before {when}) would be deleted."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Deleted {report.deleted} received events older than {days} days "
                    f"(before {when}) in {report.batches} batches."
                )
            )
            if report.forgotten:
                window = max(get_settings().replay_window_days, days)
                self.stdout.write(
                    f"{report.forgotten} pruned event id{'s' if report.forgotten != 1 else ''} "
                    f"older than {window} days forgotten (REPLAY_WINDOW_DAYS)."
                )
