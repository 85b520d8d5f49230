"""Benchmark: the webhook receiver against a floor, under gunicorn on PostgreSQL.

Run: ``make bench-receiver`` (or ``.venv/bin/python -m bench.receiver_bench``).

The example site is served by gunicorn (sync workers) on a throwaway
PostgreSQL 15 cluster (fsync on), on loopback; a load generator in this
process (asyncio, pre-signed distinct deliveries, keep-alive) drives it at 16
and 64 concurrent connections. The floor is a bare Django view in the same
site (``example_project/floor.py``): read the body, one INSERT into a table
with a unique key. Both are measured in the same run, back to back in each round,
and the receiver's throughput is given as the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.aioload import run  # noqa: E402  (after the path: runnable as a script too)
from bench.common import deliveries, env_for, migrated_postgres, psql, serving  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="per measurement")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--topic", default="lesson.completed")
    parser.add_argument("--dispatch", default="sync", choices=["sync", "celery"])
    parser.add_argument("--rounds", type=int, default=3, help="floor-then-receiver rounds")
    parser.add_argument("--warmup", type=int, default=3000, help="requests to each first")
    args = parser.parse_args()

    from django.conf import settings

    settings.configure(USE_TZ=True)
    from example_project.floor import TABLE_SQL

    print(
        f"# receiver benchmark, {time.strftime('%Y-%m-%d')}, {platform.node()}, "
        f"{os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    print(
        f"# gunicorn {args.workers} sync workers, PostgreSQL 15 (fsync on), topic {args.topic}, "
        f"DISPATCH={args.dispatch}, {args.requests} requests per measurement"
    )
    # Persistent database connections, as a production site runs (both endpoints).
    with migrated_postgres() as dsn:
        psql(dsn, TABLE_SQL)
        env = env_for(f"{dsn}?conn_max_age=600", BENCH_FLOOR="1", THINKIFIC_DISPATCH=args.dispatch)
        with serving(env, workers=args.workers, extra=("--backlog", "2048")) as port:
            measure(args, port)
    return 0


def measure(args: argparse.Namespace, port: int) -> None:
    """Warm-up, then rounds of floor and receiver back to back, for each concurrency."""

    def requests_for(path: str, n: int) -> list[bytes]:
        # Built before the clock starts: signing is not part of what is measured.
        return list(deliveries(port, path, args.topic, n))

    paths = {"floor": "/bench/floor/", "receiver": "/thinkific/webhooks/"}
    # Warm up: a fresh cluster first creates its WAL segment files, which slows
    # whatever runs first; both endpoints get past that before any measurement.
    for name in ("floor", "receiver"):
        run("127.0.0.1", port, requests_for(paths[name], args.warmup), concurrency=16)
    print(f"\n{'conns':>5}  {'endpoint':9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}  statuses")
    for conns in args.concurrency:
        ratios, floors, receivers = [], [], []
        for _ in range(args.rounds):
            pair = {}
            for name in ("floor", "receiver"):  # back to back: the same machine state
                r = run(
                    "127.0.0.1",
                    port,
                    requests_for(paths[name], args.requests),
                    concurrency=conns,
                    max_seconds=120,
                )
                print(
                    f"{conns:>5}  {name:9} {r.rps:7.0f} {r.pct(50) * 1000:7.1f} "
                    f"{r.pct(99) * 1000:7.1f}  {r.statuses} errors={r.errors}"
                )
                pair[name] = r
            floors.append(pair["floor"])
            receivers.append(pair["receiver"])
            ratios.append(pair["receiver"].rps / pair["floor"].rps)
        p99 = statistics.median(r.pct(99) for r in receivers) * 1000
        floor_p99 = statistics.median(r.pct(99) for r in floors) * 1000
        print(
            f"{conns:>5}  ratio     {statistics.median(ratios):7.2f}x throughput, median of "
            f"{', '.join(f'{x:.2f}' for x in ratios)} (target >= 0.8x); "
            f"receiver p99 {p99:.1f} ms (median), floor {floor_p99:.1f} ms"
        )


if __name__ == "__main__":
    raise SystemExit(main())
