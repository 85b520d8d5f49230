"""Chooses the database the suite runs on: ``--database=sqlite`` (default) or ``postgres``,
and decides whether the browser tests can run.

With ``postgres`` a throwaway cluster is started (``tests.pg_cluster``) before
pytest-django configures Django, and stopped at the end. Where the server
binaries are missing the PostgreSQL pass ends with a one-line notice, unless
``CI`` is set: there a missing PostgreSQL fails the run.

Tests marked ``postgres`` (real concurrency) are deselected on SQLite: they
run in the PostgreSQL pass, which ``make test`` always runs as well.

Tests marked ``redis`` start a throwaway ``redis-server`` and real Celery
workers; they are deselected where the binary is missing, unless ``CI`` is set.

Tests marked ``browser`` drive Debian's Chromium (``/usr/bin/chromium``) with
Playwright; they never download a browser. Where Chromium is missing they are
deselected with a notice, unless ``CI`` is set: there they run and fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.pg_cluster import PostgresUnavailable, ThrowawayCluster
from tests.stack import find_redis

ENV_VAR = "THINKIFIC_TEST_DATABASE_URL"
_cluster: ThrowawayCluster | None = None
_unavailable = ""  # why the PostgreSQL pass cannot run, once the cluster failed to start


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
    global _cluster, _unavailable
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
        os.environ.pop(ENV_VAR, None)
        # Said by pytest_configure: an exit raised from this hook prints a traceback.
        _unavailable = f"PostgreSQL pass not run: {exc}"
        return
    _cluster = cluster


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if _unavailable:
        pytest.exit(_unavailable, returncode=0)  # one line: "Exit: PostgreSQL pass not run: ..."


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('database')}" + (f" ({_cluster.dsn})" if _cluster else "")


def pytest_unconfigure(config: pytest.Config) -> None:
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


def chromium_path() -> str | None:
    """Debian's Chromium, if installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _deselect(config, items, "postgres", config.getoption("database") != "postgres")
    _deselect(config, items, "browser", chromium_path() is None and not os.environ.get("CI"))
    _deselect(config, items, "redis", find_redis() is None and not os.environ.get("CI"))


def _deselect(config: pytest.Config, items: list[pytest.Item], marker: str, when: bool) -> None:
    if not when:
        return
    gone = [item for item in items if item.get_closest_marker(marker)]
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = [item for item in items if not item.get_closest_marker(marker)]
