"""The PostgreSQL pass of ``make test`` itself: it runs where it can, and says in one
line why it cannot. Each test runs pytest as a subprocess, as ``make test`` does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from tests.pg_cluster import BINDIR_ENV

ROOT = Path(__file__).resolve().parents[1]
INNER = "tests/test_pg_pass.py::test_the_database_is_postgresql"


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_database_is_postgresql():
    assert connection.vendor == "postgresql"


def run_postgres_pass(**env: str) -> subprocess.CompletedProcess[str]:
    """``pytest --database=postgres`` on one test, in a fresh process."""
    base = {k: v for k, v in os.environ.items() if k not in {"CI", "THINKIFIC_TEST_DATABASE_URL"}}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--database=postgres",
            INNER,
        ],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def private_dir():
    """A fresh folder only its owner can enter (``mktemp -d``; as root, like ``/root/tmp``)."""
    path = tempfile.mkdtemp(prefix="private-tmpdir-")
    os.chmod(path, 0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.postgres  # needs the server binaries, which the PostgreSQL pass has
def test_the_pass_runs_with_a_private_tmpdir(private_dir):
    result = run_postgres_pass(TMPDIR=private_dir)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 passed" in result.stdout
    assert "Traceback" not in output
    assert not [n for n in os.listdir(private_dir) if n.startswith("thinkific-pg-")]  # removed


def path_without_initdb() -> str:
    return os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if not (Path(d) / "initdb").exists()
    )


@pytest.mark.parametrize("ci", ["", "1"])
def test_a_pass_that_cannot_run_says_why_in_one_line(private_dir, ci):
    env = {"PATH": path_without_initdb(), BINDIR_ENV: private_dir}  # no initdb anywhere
    if ci:
        env["CI"] = ci
    result = run_postgres_pass(**env)
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    assert "PostgreSQL server binaries (initdb, pg_ctl) not found" in output
    if ci:
        assert result.returncode != 0
        assert output.startswith("ERROR: CI is set and PostgreSQL is unavailable: ")
    else:
        assert result.returncode == 0
        assert output.startswith("Exit: PostgreSQL pass not run: ")
