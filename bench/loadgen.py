"""A small bounded load generator: signed, distinct deliveries from N threads.

Used by the benchmarks; bounded in both count and time.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from dataclasses import dataclass, field

import requests

from django_thinkific.samples import sample_event
from django_thinkific.signing import compute_signature


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    elapsed: float = 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def summary(self) -> str:
        return (
            f"{len(self.latencies)} requests, {self.rps:.0f} req/s, "
            f"p50 {self.percentile(50) * 1000:.1f} ms, p99 {self.percentile(99) * 1000:.1f} ms, "
            f"median {statistics.median(self.latencies) * 1000 if self.latencies else 0:.1f} ms, "
            f"statuses {self.statuses}, errors {self.errors}"
        )


def run_load(
    url: str,
    secret: str,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    stop: threading.Event | None = None,
    topic: str = "order.created",
) -> LoadResult:
    """POST distinct signed events until ``max_requests``, ``max_seconds`` or ``stop``."""
    result = LoadResult()
    lock = threading.Lock()
    sent = 0
    deadline = time.monotonic() + max_seconds
    stop = stop or threading.Event()

    def worker() -> None:
        nonlocal sent
        session = requests.Session()
        while not stop.is_set() and time.monotonic() < deadline:
            with lock:
                if sent >= max_requests:
                    return
                sent += 1
            body = json.dumps(sample_event(topic)).encode()
            headers = {
                "Content-Type": "application/json",
                "X-Thinkific-Hmac-Sha256": compute_signature(body, secret),
            }
            start = time.perf_counter()
            try:
                response = session.post(url, data=body, headers=headers, timeout=10)
                status = response.status_code
            except requests.RequestException:
                with lock:
                    result.errors += 1
                continue
            took = time.perf_counter() - start
            with lock:
                result.latencies.append(took)
                result.statuses[status] = result.statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max_seconds + 30)
    result.elapsed = time.perf_counter() - began
    return result
