"""A total time limit for one HTTP exchange made with ``requests``.

``requests``' ``timeout`` bounds each socket operation, so an answer that
trickles in (a byte every second, under a 5 s timeout) can hold a call for
ever. Inside ``with deadline(seconds):``, a session that has
:class:`DeadlineAdapter` mounted ends the exchange once ``seconds`` have
passed since the ``with`` began:

- connecting (each address tried, and the TLS handshake) waits at most what
  is left;
- every read of the status line, the headers and the body waits at most what
  is left, and none starts once nothing is left (a ``TimeoutError``, which
  ``requests`` reports as ``requests.ReadTimeout`` while the headers are read
  and as ``requests.ConnectionError`` during the body: the caller tells them
  apart by the time).

Name resolution is not covered (no socket timeout applies to it).
"""

from __future__ import annotations

import contextvars
import http.client
import io
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "django_thinkific_http_deadline", default=None
)


@contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Every exchange through a :class:`DeadlineAdapter` in this block ends by the
    ``time.monotonic()`` value it yields."""
    end = time.monotonic() + seconds
    token = _DEADLINE.set(end)
    try:
        yield end
    finally:
        _DEADLINE.reset(token)


def _left() -> float | None:
    end = _DEADLINE.get()
    return None if end is None else end - time.monotonic()


class _DeadlineReader(io.RawIOBase):
    """The response's socket reader, each read bounded by the time left."""

    def __init__(self, fp: Any, sock: socket.socket) -> None:
        super().__init__()
        self._fp = fp  # http.client's buffered reader: closing it releases the socket
        self._raw = fp.raw
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = _left()
        if left is not None:
            if left <= 0:
                raise TimeoutError("the exchange's time limit passed")
            self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._fp.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        if _DEADLINE.get() is not None:
            self.fp = io.BufferedReader(_DeadlineReader(self.fp, sock))


class _DeadlineConnectionMixin:
    response_class: type[http.client.HTTPResponse] = _DeadlineResponse
    timeout: Any

    def connect(self) -> None:
        left = _left()
        if left is not None:
            if left <= 0:  # nothing was sent: requests reports a ConnectTimeout
                raise ConnectTimeoutError(self, "the exchange's time limit passed")
            if not isinstance(self.timeout, (int, float)) or self.timeout > left:
                self.timeout = left
        super().connect()  # type: ignore[misc]


class _HTTPConnection(_DeadlineConnectionMixin, HTTPConnection):
    """An http connection whose reads wait at most what the deadline leaves."""


class _HTTPSConnection(_DeadlineConnectionMixin, HTTPSConnection):
    """An https connection whose reads and handshake wait at most what the deadline leaves."""


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections honour :func:`deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if hasattr(manager, "pool_classes_by_scheme"):
            manager.pool_classes_by_scheme = _POOLS
        return manager
