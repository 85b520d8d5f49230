"""Benchmark: pruning 1,000,000 expired events on PostgreSQL while deliveries keep arriving.

Run: ``make bench-prune`` (or ``.venv/bin/python -m bench.prune_bench [--expired N]``).

In one run, on a throwaway PostgreSQL cluster (fsync on):

1. load N expired + 10,000 fresh events; time a raw
   ``DELETE FROM ... WHERE received_at < cutoff`` (the floor);
2. load the same data again; time the prune in its own process, nothing else
   running, and record that process's peak memory (max RSS): the ratio;
3. load it a third time and prune again while the example site under gunicorn
   takes signed deliveries from a load generator (4 connections); report their
   p50/p99 answer times, and the same load with no prune running as the baseline.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.aioload import run  # noqa: E402  (after the path: runnable as a script too)
from bench.common import deliveries, env_for, migrated_postgres, psql, serving  # noqa: E402

#: Deliveries during the prune: the example's order receiver runs for each.
TOPIC = "order.created"

# Ids and received_at rise together, as they do when events are stored as they
# arrive: expired events spread over days 60..31 ago, fresh ones over the last day.
FILL_SQL = """
INSERT INTO django_thinkific_receivedevent
  (event_id, topic, resource, action, tenant_id, site, header_topic, payload, status,
   received_at, attempts, last_error)
SELECT 'b' || g::text, 'order.created', 'order', 'created', '3', 'acme-academy', 'order.created',
       jsonb_build_object('id', g, 'amount_cents', 5000, 'product_name', 'Introduction to Webhooks',
                          'user', jsonb_build_object('email', 'student' || g || '@example.com',
                                                     'first_name', 'Robert', 'last_name', 'Smith')),
       'processed', %(first)s + (g - %(start)s) * interval '%(step)s', 1, ''
FROM generate_series(%(start)s, %(stop)s) AS g
"""


def load(dsn: str, expired: int, fresh: int) -> float:
    start = time.perf_counter()
    psql(dsn, "TRUNCATE django_thinkific_receivedevent")
    expired_step = f"{29 * 86400 / expired:.6f} seconds"
    fresh_step = f"{86400 / fresh:.6f} seconds"
    psql(
        dsn,
        FILL_SQL
        % {
            "first": "now() - interval '60 days'",
            "step": expired_step,
            "start": 1,
            "stop": expired,
        },
    )
    psql(
        dsn,
        FILL_SQL
        % {
            "first": "now() - interval '1 day'",
            "step": fresh_step,
            "start": expired + 1,
            "stop": expired + fresh,
        },
    )
    psql(dsn, "VACUUM ANALYZE django_thinkific_receivedevent")
    return time.perf_counter() - start


def count(dsn: str) -> int:
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT count(*) FROM django_thinkific_receivedevent").fetchone()[0]


def prune_child() -> None:
    """Runs in its own process: the prune, then this process's peak memory."""
    import django

    django.setup()
    from django_thinkific.services.retention import prune

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    report = prune(days=30)
    took = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"deleted={report.deleted} batches={report.batches} seconds={took:.3f} "
        f"rss_before_kb={before} rss_peak_kb={peak}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expired", type=int, default=1_000_000)
    parser.add_argument("--fresh", type=int, default=10_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        prune_child()
        return 0

    from django.conf import settings

    settings.configure(USE_TZ=True)  # the load generator builds sample events
    print(
        f"# prune benchmark, {time.strftime('%Y-%m-%d')}, {platform.node()}, "
        f"{os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    print(f"# {args.expired:,} expired + {args.fresh:,} fresh events, PostgreSQL (fsync on)")
    with migrated_postgres() as dsn:
        env = env_for(dsn)
        print(f"load: {load(dsn, args.expired, args.fresh):.1f} s")

        start = time.perf_counter()
        psql(
            dsn,
            "DELETE FROM django_thinkific_receivedevent "
            "WHERE received_at < now() - interval '30 days'",
        )
        raw = time.perf_counter() - start
        assert count(dsn) == args.fresh
        print(f"floor: raw DELETE ... WHERE received_at < cutoff: {raw:.2f} s")

        def prune_in_child() -> dict[str, str]:
            out = subprocess.run(
                [sys.executable, "-m", "bench.prune_bench", "--child"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
                check=True,
            )
            return dict(item.split("=") for item in out.stdout.split())

        load(dsn, args.expired, args.fresh)
        fields = prune_in_child()
        assert count(dsn) == args.fresh
        took = float(fields["seconds"])
        peak_mb = int(fields["rss_peak_kb"]) / 1024
        grew_mb = (int(fields["rss_peak_kb"]) - int(fields["rss_before_kb"])) / 1024
        print(
            f"prune, quiet: {fields['deleted']} deleted in {fields['batches']} batches: "
            f"{took:.2f} s = {took / raw:.2f}x the raw DELETE (target <= 1.5x)"
        )
        print(
            f"prune process peak memory: {peak_mb:.0f} MB max RSS (grew {grew_mb:.1f} MB during "
            f"the prune; target < 100 MB)"
        )

        with serving(env, workers=2) as port:
            path = "/thinkific/webhooks/"
            quiet = run(
                "127.0.0.1",
                port,
                deliveries(port, path, TOPIC, 1500),
                concurrency=4,
                max_seconds=20,
            )
            print(f"receiver, no prune running:   {quiet.summary()}")

            load(dsn, args.expired, args.fresh)
            stop = threading.Event()
            loaded = {}
            thread = threading.Thread(
                target=lambda: loaded.update(
                    r=run(
                        "127.0.0.1",
                        port,
                        deliveries(port, path, TOPIC, 200_000),
                        concurrency=4,
                        max_seconds=600,
                        stop=stop,
                    )
                )
            )
            thread.start()
            busy_fields = prune_in_child()
            stop.set()
            thread.join(timeout=60)
        busy = loaded["r"]
        print(f"prune, under load: {float(busy_fields['seconds']):.2f} s")
        print(f"receiver, while pruning:      {busy.summary()}")
        print(
            f"receiver p99 while pruning: {busy.pct(99) * 1000:.1f} ms (target < 200 ms), "
            f"{busy.pct(99) / quiet.pct(99):.2f}x the quiet p99"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
