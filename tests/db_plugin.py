"""Chooses the database the suite runs on: ``--database=sqlite`` (default) or ``postgres``.

With ``postgres`` a throwaway cluster is started (``tests.pg_cluster``) before
pytest-django configures Django, and stopped at the end. Where the server
binaries are missing the PostgreSQL pass ends with a one-line notice, unless
``CI`` is set: there a missing PostgreSQL fails the run.

Tests marked ``postgres`` (real concurrency) are deselected on SQLite: they
run in the PostgreSQL pass, which ``make test`` always runs as well.
"""

from __future__ import annotations

import os

import pytest

from tests.pg_cluster import PostgresUnavailable, ThrowawayCluster

ENV_VAR = "THINKIFIC_TEST_DATABASE_URL"
_cluster: ThrowawayCluster | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=("sqlite", "postgres"),
        default=os.environ.get("THINKIFIC_TEST_DB", "sqlite"),
        help="database to run the suite on (postgres: a throwaway cluster is started)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    global _cluster
    options = parser.parse_known_args(args)
    if options.database != "postgres" or options.help or options.version:
        os.environ.pop(ENV_VAR, None)
        return
    cluster = ThrowawayCluster()
    try:
        os.environ[ENV_VAR] = cluster.start()
    except PostgresUnavailable as exc:
        cluster.stop()
        if os.environ.get("CI"):
            raise pytest.UsageError(f"CI is set and PostgreSQL is unavailable: {exc}") from None
        raise pytest.exit(f"PostgreSQL pass not run: {exc}", returncode=0) from None
    _cluster = cluster


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('database')}" + (f" ({_cluster.dsn})" if _cluster else "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("database") == "postgres":
        return
    deselected = [item for item in items if item.get_closest_marker("postgres")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]


def pytest_unconfigure(config: pytest.Config) -> None:
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None
