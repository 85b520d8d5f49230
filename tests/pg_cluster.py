"""Throwaway PostgreSQL cluster for the test suite.

The suite needs a real PostgreSQL (concurrency, row locking and JSON behaviour
differ from SQLite), but we do not want to depend on a system-wide server, on
Docker, or on any third-party package.  This module drives the stock
``initdb`` / ``pg_ctl`` binaries to create a private cluster in a temporary
directory, listening only on loopback with ``trust`` auth, and tears it down
afterwards.

Usage::

    with ThrowawayCluster() as cluster:
        os.environ["DATABASE_URL"] = cluster.dsn
        ...

Self-check: ``python -m tests.pg_cluster``.

Stdlib only, on purpose: it must work before any project dependency is
installed.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresUnavailable", "ThrowawayCluster", "find_binaries"]

#: Environment variables that would make initdb/pg_ctl/psql talk to, or
#: create, some *other* cluster than ours.  Any ``PG*`` variable is stripped;
#: these are listed for documentation and for non-prefixed extras.
_STRIPPED_ENV = {"DATABASE_URL"}

#: Name of the unprivileged account PostgreSQL runs as when we are root.
_PG_OS_USER = "postgres"

#: Superuser role created by initdb; also the user in the DSN.
_PG_ROLE = "postgres"

_SUBPROCESS_TIMEOUT = 120  # seconds; initdb on a slow CI disk can take a while
_START_TIMEOUT = 30  # seconds; passed to ``pg_ctl -t``
_LOG_TAIL_LINES = 8


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries are missing or the throwaway cluster failed to start.

    A distinct type so the test suite can turn it into a clean skip/exit with
    a one-line reason instead of a traceback deep in subprocess code.
    """


def _has_tools(directory: Path) -> bool:
    return all(
        (directory / tool).is_file() and os.access(directory / tool, os.X_OK)
        for tool in ("initdb", "pg_ctl")
    )


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<ver>/bin -> numeric sort so "15" beats "9.6".
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (0,)


#: Names the directory holding ``initdb`` and ``pg_ctl``; then neither PATH nor
#: ``/usr/lib/postgresql`` is searched.
BINDIR_ENV = "THINKIFIC_TEST_PG_BINDIR"


def find_binaries() -> Path | None:
    """Return the directory holding ``initdb`` and ``pg_ctl``, or ``None``.

    ``$THINKIFIC_TEST_PG_BINDIR`` decides alone when it is set. Otherwise PATH
    wins, so a developer can point at any build they like.  Debian/Ubuntu
    packages do not put the server tools on PATH, so fall back to the highest
    version under ``/usr/lib/postgresql/*/bin`` (what CI images have).

    Symlinks are resolved because ``pg_ctl`` locates the ``postgres`` binary
    next to itself, and a PATH symlink farm may not contain it.
    """
    chosen = os.environ.get(BINDIR_ENV)
    if chosen:
        return Path(chosen) if _has_tools(Path(chosen)) else None
    found = shutil.which("initdb")
    if found:
        candidate = Path(found).resolve().parent
        if _has_tools(candidate):
            return candidate
        # initdb and pg_ctl might be symlinked individually from different
        # places; accept the PATH directory if both live there.
        if _has_tools(Path(found).parent):
            return Path(found).parent

    versioned = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if _has_tools(p)]
    if versioned:
        return max(versioned, key=_version_key)
    return None


def _free_loopback_port() -> int:
    """Ask the kernel for an unused loopback port.

    There is an unavoidable race between closing this socket and postgres
    binding it; :meth:`ThrowawayCluster.start` retries with a fresh port if
    the bind fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _base_dirs() -> list[str]:
    """Where a data directory may go: ``TMPDIR`` (or the system default) first."""
    found: list[str] = []
    for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp"):  # noqa: S108
        if os.path.isdir(candidate) and os.path.realpath(candidate) not in map(
            os.path.realpath, found
        ):
            found.append(candidate)
    return found


def _clean_env() -> dict[str, str]:
    """Inherited env minus anything that could redirect tools to another cluster."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PG") and key not in _STRIPPED_ENV
    }
    # Keep tool output parseable (we grep the server log for bind errors).
    env["LC_MESSAGES"] = "C"
    return env


def _find_runuser() -> str | None:
    """Locate ``runuser``; it lives in sbin, which a CI PATH often omits."""
    found = shutil.which("runuser")
    if found:
        return found
    for candidate in ("/usr/sbin/runuser", "/sbin/runuser"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _one_line(text: str) -> str:
    return " | ".join(line.strip() for line in text.splitlines() if line.strip())


class ThrowawayCluster:
    """A private, disposable PostgreSQL cluster on 127.0.0.1.

    ``fast=True`` (the default) trades durability for speed: ``--no-sync`` at
    initdb and ``fsync``/``synchronous_commit``/``full_page_writes`` off.  That
    is fine because the data is deleted at :meth:`stop` anyway.
    """

    def __init__(self, *, port: int | None = None, fast: bool = True) -> None:
        self._port_fixed = port is not None
        self.port: int = port if port is not None else _free_loopback_port()
        self.fast = fast
        self.data_dir: Path | None = None  # set by start(); removed by stop()
        self._bindir: Path | None = None
        self._as_postgres = hasattr(os, "geteuid") and os.geteuid() == 0
        self._started = False
        self._atexit_registered = False

    # ------------------------------------------------------------------ API

    @property
    def dsn(self) -> str:
        """URL understood by django-environ / dj-database-url and libpq."""
        return f"postgres://{_PG_ROLE}@127.0.0.1:{self.port}/postgres"

    def start(self) -> str:
        """Create and start the cluster; return :attr:`dsn`.

        Calling it again on a running cluster is a no-op, so fixtures at
        several scopes can share one instance safely.
        """
        if self._started:
            return self.dsn

        bindir = find_binaries()
        if bindir is None:
            where = (
                f"in ${BINDIR_ENV} ({os.environ[BINDIR_ENV]})"
                if os.environ.get(BINDIR_ENV)
                else "on PATH or under /usr/lib/postgresql/*/bin"
            )
            raise PostgresUnavailable(
                f"PostgreSQL server binaries (initdb, pg_ctl) not found {where}"
            )
        self._bindir = bindir

        # Register before creating anything so an interrupt mid-start still
        # cleans up whatever got created.
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True

        try:
            self._make_data_dir()
            self._initdb()
            attempts = 1 if self._port_fixed else 3
            for attempt in range(attempts):
                error = self._pg_ctl_start()
                if error is None:
                    break
                if attempt + 1 < attempts and self._port_in_use():
                    # Lost the race for the port we picked; try another.
                    self._force_stop()
                    self.port = _free_loopback_port()
                    continue
                raise PostgresUnavailable(error)
        except BaseException:
            self.stop()
            raise

        self._started = True
        return self.dsn

    def stop(self) -> None:
        """Stop the server (if any) and delete the data directory.

        Never raises: it runs from ``atexit`` and from ``finally`` blocks,
        where masking the real error with a cleanup error would be worse.
        Safe to call repeatedly and on a half-started cluster.
        """
        try:
            self._force_stop()
        finally:
            self._started = False
            if self.data_dir is not None:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                self.data_dir = None
            if self._atexit_registered:
                with contextlib.suppress(Exception):
                    atexit.unregister(self.stop)
                self._atexit_registered = False

    def stop_server(self) -> None:
        """Stop the postmaster (``pg_ctl stop -m fast``), keeping the data directory.

        For fault tests: clients are disconnected, committed data survives,
        and :meth:`start_server` brings the same cluster back on the same port.
        """
        if not self._started or self.data_dir is None:
            raise PostgresUnavailable("the cluster is not started")
        result = self._run(
            [
                self._tool("pg_ctl"),
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                "20",
            ]
        )
        if result.returncode != 0:
            raise PostgresUnavailable(
                "pg_ctl stop failed: " + _one_line(result.stderr or result.stdout)
            )

    def start_server(self) -> None:
        """Start the postmaster again after :meth:`stop_server` (``pg_ctl start -w``)."""
        if not self._started or self.data_dir is None:
            raise PostgresUnavailable("the cluster is not started")
        error = self._pg_ctl_start()
        if error is not None:
            raise PostgresUnavailable(error)

    def __enter__(self) -> ThrowawayCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        return f"<ThrowawayCluster {state} port={self.port} data_dir={self.data_dir}>"

    # ------------------------------------------------------------ internals

    def _tool(self, name: str) -> str:
        assert self._bindir is not None
        return str(self._bindir / name)

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool, as the ``postgres`` OS user when we are root.

        PostgreSQL refuses to run as root; ``runuser`` (util-linux, no PAM
        password prompt) is the simplest way to drop privileges from root.
        cwd is the data dir so the tool never trips over an unreadable cwd
        such as /root.
        """
        cmd = args
        if self._as_postgres:
            runuser = _find_runuser()
            if runuser is None:
                raise PostgresUnavailable(
                    "running as root but 'runuser' (util-linux) was not found; "
                    "PostgreSQL refuses to run as root"
                )
            cmd = [runuser, "-u", _PG_OS_USER, "--", *args]
        try:
            return subprocess.run(
                cmd,
                env=_clean_env(),
                cwd=str(self.data_dir) if self.data_dir else None,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_SUBPROCESS_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"could not run {Path(args[0]).name}: {exc}") from exc

    def _make_data_dir(self) -> None:
        """A fresh 0700 directory (initdb requires it) that the server's user can reach.

        Under ``TMPDIR`` when it can; as root, the ``postgres`` user must also be
        able to traverse every folder above it, which a private ``TMPDIR``
        (``/root/tmp``, a ``mktemp -d`` folder) does not allow: then ``/tmp`` or
        ``/var/tmp`` is used instead.
        """
        tried: list[str] = []
        for base in _base_dirs():
            try:
                self.data_dir = Path(tempfile.mkdtemp(prefix="thinkific-pg-", dir=base))
            except OSError:
                continue
            if not self._as_postgres:
                return
            try:
                shutil.chown(self.data_dir, user=_PG_OS_USER, group=None)
            except (LookupError, OSError) as exc:
                raise PostgresUnavailable(
                    f"running as root but cannot hand {self.data_dir} to OS user "
                    f"{_PG_OS_USER!r}: {exc}"
                ) from exc
            if self._run(["/bin/sh", "-c", 'cd -- "$1"', "sh", str(self.data_dir)]).returncode == 0:
                return
            tried.append(base)
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
        raise PostgresUnavailable(
            f"the {_PG_OS_USER!r} OS user cannot reach a directory under "
            f"{' or '.join(tried) or 'TMPDIR'}: set TMPDIR to a directory it can traverse "
            f"(e.g. TMPDIR=/tmp)"
        )

    def _initdb(self) -> None:
        assert self.data_dir is not None
        base = [
            self._tool("initdb"),
            "-D",
            str(self.data_dir),
            "-A",
            "trust",
            "-U",
            _PG_ROLE,
            "-E",
            "UTF8",
        ]
        if self.fast:
            base.append("--no-sync")
        # C.UTF-8 gives UTF-8 ctype with byte-order collation (deterministic
        # across machines); some minimal images lack it, so fall back to C.
        result = None
        for locale in ("C.UTF-8", "C"):
            self._empty_data_dir()
            result = self._run([*base, f"--locale={locale}"])
            if result.returncode == 0:
                return
        assert result is not None
        raise PostgresUnavailable(
            "initdb failed: " + _one_line(result.stderr or result.stdout)[-600:]
        )

    def _empty_data_dir(self) -> None:
        # initdb insists on an empty directory; a failed attempt may leave
        # files behind.
        assert self.data_dir is not None
        for child in self.data_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    @property
    def _log_path(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "server.log"

    def _server_options(self) -> str:
        assert self.data_dir is not None
        opts = [
            "-c",
            "listen_addresses=127.0.0.1",
            "-p",
            str(self.port),
            # Unix socket in our own dir: avoids needing /var/run/postgresql
            # and cannot collide with another cluster.
            "-k",
            str(self.data_dir),
            # The suite fires ~50 concurrent requests, each may hold a
            # connection, plus Django's own test-database connections.
            "-c",
            "max_connections=200",
        ]
        if self.fast:
            opts += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        # pg_ctl hands -o to a shell, so quote each piece.
        return " ".join(shlex.quote(o) for o in opts)

    def _pg_ctl_start(self) -> str | None:
        """Start the server; return ``None`` on success or a one-line error."""
        assert self.data_dir is not None
        # Truncate the log so a retry's tail is about this attempt.
        if self._log_path.exists():
            self._log_path.write_text("")
        result = self._run(
            [
                self._tool("pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                str(_START_TIMEOUT),
                "-l",
                str(self._log_path),
                "-o",
                self._server_options(),
            ]
        )
        if result.returncode == 0:
            return None
        tail = self._log_tail()
        detail = _one_line(result.stderr or result.stdout)
        msg = (
            f"PostgreSQL failed to start on 127.0.0.1:{self.port} (pg_ctl exit {result.returncode})"
        )
        if detail:
            msg += f": {detail}"
        if tail:
            msg += f"; server.log tail: {tail}"
        return msg

    def _log_tail(self) -> str:
        try:
            lines = self._log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return _one_line("\n".join(lines[-_LOG_TAIL_LINES:]))

    def _port_in_use(self) -> bool:
        try:
            log = self._log_path.read_text(errors="replace")
        except OSError:
            return False
        return "could not bind" in log or "Address already in use" in log

    def _postmaster_pid(self) -> int | None:
        if self.data_dir is None:
            return None
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first.strip())
        except (OSError, ValueError):
            return None

    def _force_stop(self) -> None:
        """Stop the server however we can; never raises."""
        if self.data_dir is None or self._bindir is None:
            return
        if not (self.data_dir / "postmaster.pid").exists():
            return  # never started (or already stopped): nothing to do
        # immediate = no checkpoint, fastest; the data is being thrown away.
        # fast is the fallback if immediate somehow did not take.
        for mode in ("immediate", "fast"):
            try:
                result = self._run(
                    [
                        self._tool("pg_ctl"),
                        "stop",
                        "-D",
                        str(self.data_dir),
                        "-m",
                        mode,
                        "-w",
                        "-t",
                        "20",
                    ]
                )
            except (PostgresUnavailable, OSError, subprocess.SubprocessError):
                continue
            if result.returncode == 0 or not (self.data_dir / "postmaster.pid").exists():
                return
        # Last resort: kill the postmaster we started so nothing outlives us.
        # Children notice postmaster death and exit on their own.
        pid = self._postmaster_pid()
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _self_check() -> int:
    """Start a cluster, query it over TCP with psql, stop it."""
    t0 = time.monotonic()
    try:
        cluster = ThrowawayCluster()
        dsn = cluster.start()
    except PostgresUnavailable as exc:
        print(f"UNAVAILABLE: {exc}", file=sys.stderr)
        return 1
    t_started = time.monotonic()
    try:
        print(dsn)
        bindir = find_binaries()
        psql = None
        if bindir is not None and (bindir / "psql").exists():
            psql = str(bindir / "psql")
        psql = psql or shutil.which("psql")
        if psql is None:
            print("psql not found; cluster started but not queried", file=sys.stderr)
            return 1
        result = subprocess.run(
            [psql, dsn, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", "SELECT version()"],
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        if result.returncode != 0:
            return result.returncode
    finally:
        t_query = time.monotonic()
        cluster.stop()
        t_end = time.monotonic()
        print(
            f"start {t_started - t0:.2f}s, query {t_query - t_started:.2f}s, "
            f"stop {t_end - t_query:.2f}s, total {t_end - t0:.2f}s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(_self_check())
