"""What the benchmarks share: a migrated throwaway PostgreSQL, the example site
under gunicorn on loopback, and signed deliveries for the load generator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.pg_cluster import ThrowawayCluster
from tests.stack import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key"


def psql(dsn: str, sql: str) -> None:
    """Run ``sql`` in autocommit on ``dsn``."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def env_for(dsn: str, **extra: str) -> dict[str, str]:
    """The example project's environment for a benchmark on ``dsn``."""
    return {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "SECRET_KEY": "bench",
        "DEBUG": "false",
        "DATABASE_URL": dsn,
        "THINKIFIC_API_KEY": KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        **extra,
    }


@contextmanager
def migrated_postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster (fsync on, as in production), migrated; yields its DSN."""
    cluster = ThrowawayCluster(fast=False)
    dsn = cluster.start()
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=ROOT,
            env=env_for(dsn),
            check=True,
            timeout=300,
        )
        yield dsn
    finally:
        cluster.stop()


@contextmanager
def serving(env: dict[str, str], *, workers: int, extra: tuple[str, ...] = ()) -> Iterator[int]:
    """The example site under gunicorn on a free loopback port; yields the port."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "example_project.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: port_open(port), timeout=30, what="gunicorn")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)


def deliveries(port: int, path: str, topic: str, n: int) -> Iterator[bytes]:
    """``n`` distinct signed deliveries of ``topic`` as raw HTTP requests, built lazily.

    Needs Django settings configured (``settings.configure(USE_TZ=True)``).
    """
    from bench.aioload import build
    from django_thinkific.samples import sample_event
    from django_thinkific.signing import compute_signature

    for _ in range(n):
        body = json.dumps(sample_event(topic)).encode()
        headers = {
            "X-Thinkific-Hmac-Sha256": compute_signature(body, KEY),
            "X-Thinkific-Topic": topic,
        }
        yield build("127.0.0.1", port, path, body, headers)
