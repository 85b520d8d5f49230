"""Real processes for end-to-end tests: a throwaway Redis, the example site under
gunicorn, and a Celery worker, all on 127.0.0.1, all stopped at the end.

Every wait is bounded; a process that does not come up fails the test with the
tail of its log, never hangs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def find_redis() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def wait_for(
    check: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tail = (
        "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        if log and log.exists()
        else ""
    )
    raise TimeoutError(f"{what} not ready after {timeout:g}s\n{tail}")


class Service:
    """One subprocess with its log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        self._log_file = self.log.open("ab")
        self.process = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.running():
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log_file.close()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def children(self) -> list[int]:
        """Pids of this process's direct children (gunicorn's workers, for one)."""
        pid = self.process.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(child) for child in text.split()]


@contextlib.contextmanager
def listener(behaviour: str) -> Iterator[int]:
    """A port on 127.0.0.1 for a broker that misbehaves: it accepts and stays ``silent``,
    accepts and sends ``garbage``, or ``refuses`` connections. Closed at the end."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[socket.socket] = []
    thread = None
    if behaviour != "refuses":  # bound but not listening: the kernel refuses connections
        server.listen(64)
        server.settimeout(0.1)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                accepted.append(conn)
                if behaviour == "garbage":
                    conn.sendall(b"HTTP/1.1 418 I'm a teapot\r\n\x00\xff\xfe garbage\r\n" * 4)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
    try:
        yield port
    finally:
        if thread is not None:
            stop.set()
            thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()


class ThrowawayRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="thinkific-redis-"))
        self.service: Service | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> str:
        binary = find_redis()
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
        args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self.service = Service("redis", args, dict(os.environ), self.workdir)
        wait_for(self._pong, timeout=15, what="redis-server", log=self.service.log)
        return self.url

    def stop_server(self) -> None:
        """Stop redis-server but keep its port and directory: :meth:`start` brings it back."""
        if self.service:
            self.service.stop()
            self.service = None
        wait_for(lambda: not self._pong(), timeout=10, what="redis-server shutdown")

    def stop(self) -> None:
        if self.service:
            self.service.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


#: Seconds a test waits for the site's answer to one delivery (Thinkific waits 5).
ANSWER_TIMEOUT = 15


class ExampleStack:
    """The example project as a site runs it: gunicorn web + Celery worker + Redis."""

    def __init__(
        self, *, database_url: str, redis_url: str, api_key: str, **extra_env: str
    ) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="thinkific-stack-"))
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "SECRET_KEY": "stack-test",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "THINKIFIC_API_KEY": api_key,
            "THINKIFIC_DISPATCH": "celery",
            "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url,
            **extra_env,
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.services: list[Service] = []

    @classmethod
    def on_test_database(cls, *, redis_url: str = "", **extra_env: str) -> ExampleStack:
        """A stack on pytest's PostgreSQL test database, keyed with the test API key.

        No ``redis_url``: ``CELERY_BROKER_URL`` is empty (enough with sync dispatch).
        """
        from django.db import connections

        from tests.settings import API_KEY

        db = connections["default"].settings_dict
        database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        return cls(database_url=database_url, redis_url=redis_url, api_key=API_KEY, **extra_env)

    def deliver(
        self, event: dict[str, Any], *, session: Any = None, timeout: float = ANSWER_TIMEOUT
    ) -> Any:
        """POST one signed delivery of ``event`` to the site, as Thinkific does."""
        import requests

        from django_thinkific.testing import sign

        body = json.dumps(event).encode()
        return (session or requests).post(
            f"{self.url}/thinkific/webhooks/",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Thinkific-Hmac-Sha256": sign(body, self.env["THINKIFIC_API_KEY"]),
                "X-Thinkific-Topic": f"{event['resource']}.{event['action']}",
            },
            timeout=timeout,
        )

    def start_web(
        self,
        *,
        workers: int = 2,
        timeout: int = 30,
        env: dict[str, str] | None = None,
        config: str | None = None,
    ) -> Service:
        """gunicorn on :attr:`url`; ``env`` adds variables for this process only,
        ``config`` is a gunicorn ``-c`` value (``python:tests.offline_site``)."""
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "example_project.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--timeout",
            str(timeout),
            *(["--config", config] if config else []),
        ]
        web = Service("web", args, {**self.env, **(env or {})}, self.workdir)
        self.services.append(web)

        wait_for(lambda: port_open(self.port), timeout=30, what="gunicorn", log=web.log)
        return web

    def start_worker(self, *, concurrency: int = 2, env: dict[str, str] | None = None) -> Service:
        """A Celery worker; ``env`` adds variables for this process only."""
        args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "example_project",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"stack-{len(self.services)}@%h",
        ]
        worker = Service("worker", args, {**self.env, **(env or {})}, self.workdir)
        self.services.append(worker)
        wait_for(
            lambda: " ready." in worker.log_text(), timeout=60, what="celery worker", log=worker.log
        )
        return worker

    def manage(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run ``manage.py <args>`` with the stack's environment (plus ``env``)."""
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env={**self.env, **(env or {})},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
