"""What the benchmarks share: the example site under gunicorn on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.stack import free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[1]


def start_gunicorn(
    env: dict[str, str], *, workers: int, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], int]:
    """The example site under gunicorn on a free loopback port, once it accepts connections."""
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
    wait_for(lambda: port_open(port), timeout=30, what="gunicorn")
    return process, port
