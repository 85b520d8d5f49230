"""Benchmark: the webhook receiver against a floor, under gunicorn on PostgreSQL.

Run: ``make bench-receiver`` (or ``.venv/bin/python -m bench.receiver_bench``).

The example site is served by gunicorn (sync workers) on a throwaway
PostgreSQL 15 cluster (fsync on), on loopback; a load generator in this
process (asyncio, pre-signed distinct deliveries, keep-alive) drives it at 16
and 64 concurrent connections. The floor is a bare Django view in the same
site (``example_project/floor.py``): read the body, one INSERT into a table
with a unique key. Both are measured in the same run, alternately, and the
receiver's figures are given as ratios to the floor's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KEY = "bench-key"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000, help="per measurement")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--topic", default="lesson.completed")
    parser.add_argument("--dispatch", default="sync", choices=["sync", "celery"])
    parser.add_argument("--rounds", type=int, default=2, help="alternating floor/receiver rounds")
    args = parser.parse_args()

    from django.conf import settings

    settings.configure(USE_TZ=True)
    from bench.aioload import build, run
    from bench.common import start_gunicorn
    from bench.prune_bench import env_for, psql
    from django_thinkific.samples import sample_event
    from django_thinkific.signing import compute_signature
    from example_project.floor import TABLE_SQL
    from tests.pg_cluster import ThrowawayCluster

    print(
        f"# receiver benchmark, {time.strftime('%Y-%m-%d')}, {platform.node()}, "
        f"{os.cpu_count()} cpus, Python {platform.python_version()}"
    )
    print(
        f"# gunicorn {args.workers} sync workers, PostgreSQL 15 (fsync on), topic {args.topic}, "
        f"DISPATCH={args.dispatch}, {args.requests} requests per measurement"
    )
    cluster = ThrowawayCluster(fast=False)
    dsn = cluster.start()
    web = None
    try:
        # Persistent database connections, as a production site runs (both endpoints).
        env = {
            **env_for(f"{dsn}?conn_max_age=600"),
            "BENCH_FLOOR": "1",
            "THINKIFIC_DISPATCH": args.dispatch,
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        psql(dsn, TABLE_SQL)
        web, port = start_gunicorn(env, workers=args.workers, extra=("--backlog", "2048"))

        def requests_for(path: str, n: int) -> list[bytes]:
            out = []
            for _ in range(n):
                body = json.dumps(sample_event(args.topic)).encode()
                headers = {
                    "X-Thinkific-Hmac-Sha256": compute_signature(body, KEY),
                    "X-Thinkific-Topic": args.topic,
                }
                out.append(build("127.0.0.1", port, path, body, headers))
            return out

        paths = {"floor": "/bench/floor/", "receiver": "/thinkific/webhooks/"}
        run("127.0.0.1", port, requests_for(paths["floor"], 300), concurrency=8)  # warm up
        run("127.0.0.1", port, requests_for(paths["receiver"], 300), concurrency=8)
        print(f"\n{'conns':>5}  {'endpoint':9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}  statuses")
        for conns in args.concurrency:
            best: dict[str, object] = {}
            for _ in range(args.rounds):
                for name in ("floor", "receiver"):
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
                    if name not in best or r.rps > best[name].rps:
                        best[name] = r
            f, rc = best["floor"], best["receiver"]
            print(
                f"{conns:>5}  ratio     {rc.rps / f.rps:7.2f}x throughput (target >= 0.8x), "
                f"p99 {rc.pct(99) * 1000:.1f} ms vs floor {f.pct(99) * 1000:.1f} ms"
            )
    finally:
        if web:
            web.terminate()
            web.wait(timeout=20)
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
