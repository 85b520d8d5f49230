"""``manage.py thinkific_sync``: make Subscription mirror Thinkific's webhooks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...client import DEFAULT_PAGE_SIZE, Page
from ...errors import ThinkificAPIError
from ...services import subscriptions


class Command(BaseCommand):
    help = (
        "Pull every webhook from Thinkific's API into Subscription: create missing rows, "
        "update changed ones, remove those gone from Thinkific. Changes nothing on any error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--page-size",
            type=int,
            default=DEFAULT_PAGE_SIZE,
            help=f"webhooks asked for per API request (default {DEFAULT_PAGE_SIZE})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["page_size"] < 1:
            raise CommandError("--page-size must be at least 1")
        progress = self.stdout.isatty() and options["verbosity"] >= 1
        read = 0

        def on_page(page: Page) -> None:
            nonlocal read
            read += len(page.items)
            of = f" of {page.total_items}" if page.total_items is not None else ""
            self.stdout.write(f"page {page.number}: {read}{of} webhooks read")

        try:
            report = subscriptions.sync(
                page_size=options["page_size"], on_page=on_page if progress else None
            )
        except ThinkificAPIError as exc:
            raise CommandError(f"{exc}. Nothing was changed.") from None
        self.stdout.write(self.style.SUCCESS(report.summary()))
        for line in report.skipped:
            self.stdout.write(self.style.WARNING(f"Skipped {line}."))
