"""An asyncio HTTP/1.1 keep-alive load generator with pre-built requests.

Cheap per request (no HTTP library, no signing in the loop), so on a small
machine it takes as little CPU as possible from the server being measured.
Bounded by a request count and a time limit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    elapsed: float = 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        return (
            f"{len(self.latencies)} requests, {self.rps:.0f} req/s, "
            f"p50 {self.pct(50) * 1000:.1f} ms, p99 {self.pct(99) * 1000:.1f} ms, "
            f"statuses {self.statuses}, errors {self.errors}"
        )


def build(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        f"Content-Length: {len(body)}",
        "Content-Type: application/json",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status, and whether the server keeps the connection open."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, keep = 0, True
    for line in head.split(b"\r\n"):
        lower = line.lower()
        if lower.startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
        elif lower.startswith(b"connection:") and b"close" in lower:
            keep = False  # gunicorn's sync workers close after every answer
    if length:
        await reader.readexactly(length)
    return status, keep


async def _run(
    host: str,
    port: int,
    requests: Iterable[bytes],
    concurrency: int,
    max_seconds: float,
    stop: threading.Event | None,
) -> Result:
    result = Result()
    queue = iter(requests)
    deadline = time.monotonic() + max_seconds

    async def connection() -> None:
        reader = writer = None
        for raw in queue:
            if time.monotonic() > deadline or (stop is not None and stop.is_set()):
                return
            try:
                start = time.perf_counter()  # includes connecting, as a new client would
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                writer.write(raw)
                status, keep = await asyncio.wait_for(_read_response(reader), timeout=30)
                result.latencies.append(time.perf_counter() - start)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if not keep:
                    writer.close()
                    reader = writer = None
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                result.errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    result.elapsed = time.perf_counter() - began
    return result


def run(
    host: str,
    port: int,
    requests: Iterable[bytes],
    *,
    concurrency: int,
    max_seconds: float = 60,
    stop: threading.Event | None = None,
) -> Result:
    """Send ``requests`` (any iterable: a generator builds them as they are needed)
    until they run out, ``max_seconds`` pass, or ``stop`` is set."""
    return asyncio.run(_run(host, port, requests, concurrency, max_seconds, stop))
