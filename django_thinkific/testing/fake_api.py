"""An in-memory fake of Thinkific's Webhooks API, faithful to its spec.

One implementation (:meth:`FakeThinkificAPI.handle`), three ways to serve it:

- ``fake.mount(responses_mock)``: intercept ``requests`` in a test, with the
  `responses <https://github.com/getsentry/responses>`_ library;
- ``with fake.serve() as url:``: a real HTTP server on 127.0.0.1 (benchmarks,
  browser tests, another process);
- ``fake.django_view``: mounted in a Django URLconf (the example site's demo,
  so ``make demo`` needs no Thinkific account).

It behaves as the documentation says: cursor pagination (``next_page`` is the
id of the first webhook of the next page), 201/204/404/422 with Thinkific's
bodies, Bearer authentication, and target-URL rules (https, a real host, not
Thinkific's own domains). ``fail_next`` injects errors for fault tests.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..topics import TOPICS
from ..validation import target_url_error

JsonBody = dict[str, Any] | list[Any] | None
Answer = tuple[int, dict[str, str], bytes]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class FakeThinkificAPI:
    """The Webhooks API of one fake Thinkific site."""

    def __init__(
        self,
        *,
        base_url: str = "https://api.thinkific.com/api/v2",
        api_key: str | None = None,
        allow_insecure_targets: bool = False,
        state_file: str | Path | None = None,
        user_id: str = "156118",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.allow_insecure_targets = allow_insecure_targets
        self.user_id = user_id
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, str]] = []  # (method, path?query) of every request
        self._failures: list[tuple[int, JsonBody, dict[str, str], str | None]] = []
        self._lock = threading.RLock()
        self._counter = 0
        self._state_file = Path(state_file) if state_file else None
        if self._state_file and self._state_file.exists():
            self.webhooks = json.loads(self._state_file.read_text())

    def __repr__(self) -> str:
        return f"<FakeThinkificAPI {self.base_url} webhooks={len(self.webhooks)}>"

    # --- arranging a test -------------------------------------------------------------

    def _new_id(self) -> str:
        self._counter += 1
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        return f"{stamp}{self._counter:09d}"

    def add_webhook(self, topic: str, target_url: str, **fields: Any) -> dict[str, Any]:
        """Create a webhook directly (no validation), as if made in Thinkific's UI."""
        with self._lock:
            now = _now()
            webhook = {
                "id": str(fields.pop("id", None) or self._new_id()),
                "status": "active",
                "topic": topic,
                "target_url": target_url,
                "created_at": now,
                "created_by": self.user_id,
                "updated_at": now,
                "updated_by": self.user_id,
                **fields,
            }
            self.webhooks[webhook["id"]] = webhook
            self._save()
            return copy.deepcopy(webhook)

    def add_event(self, event: dict[str, Any]) -> None:
        """Make ``GET /events/{id}`` know an event (envelope without tenant_id)."""
        with self._lock:
            keys = ("id", "resource", "action", "created_at", "payload")
            self.events[str(event["id"])] = {k: event.get(k) for k in keys}

    def fail_next(
        self,
        status: int,
        body: JsonBody = None,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        only: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests (matching ``only``, e.g. ``"GET /webhooks"``)
        with ``status`` and ``body`` instead of handling them."""
        with self._lock:
            for _ in range(times):
                self._failures.append((status, body, headers or {}, only))

    def _save(self) -> None:
        if self._state_file:
            tmp = self._state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.webhooks, indent=1))
            tmp.replace(self._state_file)

    # --- the API ----------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Answer:
        """Answer one HTTP request: ``(status, headers, body)``."""
        parts = urlsplit(url)
        prefix = urlsplit(self.base_url).path
        path = parts.path[len(prefix) :] if parts.path.startswith(prefix) else parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.calls.append((method, path + (f"?{parts.query}" if parts.query else "")))
            for i, (status, fbody, fheaders, only) in enumerate(self._failures):
                if only is None or re.fullmatch(
                    only.replace(" ", r"\s+") + r"(/.*)?", f"{method} {path}"
                ):
                    del self._failures[i]
                    return self._answer(status, fbody, fheaders)
            lowered = {k.lower(): v for k, v in headers.items()}
            if (
                self.api_key is not None
                and lowered.get("authorization") != f"Bearer {self.api_key}"
            ):
                return self._answer(401, {"error": "Unauthorized"})
            try:
                data = json.loads(body) if body else {}
            except ValueError:
                return self._answer(400, {"error": "Invalid JSON"})
            return self._route(method, path.rstrip("/"), query, data)

    def _route(self, method: str, path: str, query: dict[str, str], data: Any) -> Answer:
        if path == "/webhooks":
            if method == "GET":
                return self._list(query)
            if method == "POST":
                return self._create(data)
            return self._answer(405, {"error": "Method not allowed"})
        match = re.fullmatch(r"/webhooks/([^/]+)", path)
        if match:
            webhook_id = match.group(1)
            if webhook_id not in self.webhooks:
                return self._answer(404, {"error": "Record not found."})
            if method == "GET":
                return self._answer(200, self.webhooks[webhook_id])
            if method == "PUT":
                return self._update(webhook_id, data)
            if method == "DELETE":
                del self.webhooks[webhook_id]
                self._save()
                return 204, {}, b""
            return self._answer(405, {"error": "Method not allowed"})
        match = re.fullmatch(r"/events/([^/]+)", path)
        if match and method == "GET":
            event = self.events.get(match.group(1))
            return (
                self._answer(200, event)
                if event
                else self._answer(404, {"error": "Record not found."})
            )
        return self._answer(404, {"error": "Not found"})

    def _list(self, query: dict[str, str]) -> Answer:
        try:
            limit = max(1, min(int(float(query.get("limit", 25))), 250))
            page_number = max(1, int(query.get("page", 1)))
        except ValueError:
            return self._answer(400, {"error": "Invalid limit or page"})
        ids = sorted(self.webhooks)
        cursor = query.get("next")
        start = bisect_left(ids, cursor) if cursor else (page_number - 1) * limit
        chunk = ids[start : start + limit]
        has_next = start + limit < len(ids)
        total_pages = max(1, -(-len(ids) // limit))
        return self._answer(
            200,
            {
                "items": [self.webhooks[wid] for wid in chunk],
                "meta": {
                    "page": {
                        "has_next": has_next,
                        "next_page": ids[start + limit] if has_next else "",
                        "page_items": len(chunk),
                        "total_items": len(ids),
                        "total_pages": total_pages,
                    }
                },
            },
        )

    def _validate(self, data: Any) -> dict[str, str] | None:
        if not isinstance(data, dict):
            return {"topic": "invalid format"}
        errors = {}
        if data.get("topic") not in TOPICS:
            errors["topic"] = "invalid format"
        message = target_url_error(
            data.get("target_url"), allow_insecure=self.allow_insecure_targets
        )
        if message:
            errors["url"] = message
        return errors or None

    def _create(self, data: Any) -> Answer:
        errors = self._validate(data)
        if errors:
            return self._answer(422, {"errors": errors})
        webhook = self.add_webhook(data["topic"], data["target_url"])
        return self._answer(201, webhook)

    def _update(self, webhook_id: str, data: Any) -> Answer:
        errors = self._validate(data)
        if errors:
            return self._answer(422, {"errors": {k: [v] for k, v in errors.items()}})
        webhook = self.webhooks[webhook_id]
        webhook.update(
            topic=data["topic"],
            target_url=data["target_url"],
            updated_at=_now(),
            updated_by=self.user_id,
        )
        self._save()
        return self._answer(200, webhook)

    @staticmethod
    def _answer(status: int, body: JsonBody, headers: dict[str, str] | None = None) -> Answer:
        raw = b"" if body is None else json.dumps(body).encode()
        return status, {"Content-Type": "application/json", **(headers or {})}, raw

    # --- serving ----------------------------------------------------------------------

    def mount(self, mock: Any) -> None:
        """Serve the fake through a ``responses.RequestsMock`` (or the ``responses`` module).

        Turns off the mock's ``assert_all_requests_are_fired``: the fake answers
        every route of the API, and a test uses only some of them.
        """
        mock.assert_all_requests_are_fired = False
        pattern = re.compile(re.escape(self.base_url) + r"(/.*)?$")

        def callback(request: Any) -> tuple[int, dict[str, str], bytes]:
            body = request.body.encode() if isinstance(request.body, str) else request.body
            return self.handle(request.method, request.url, dict(request.headers), body)

        for method in ("GET", "POST", "PUT", "DELETE"):
            mock.add_callback(method, pattern, callback=callback)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve over real HTTP on loopback; yields the API base URL to configure."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes; without TCP_NODELAY each
            # keep-alive request waits ~40 ms on the peer's delayed ACK.
            disable_nagle_algorithm = True

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, raw = fake.handle(
                    self.command, self.path, dict(self.headers), body
                )
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: tests and benchmarks read their own output

        server = ThreadingHTTPServer((host, port), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="fake-thinkific", daemon=True)
        thread.start()
        previous = self.base_url
        self.base_url = f"http://{host}:{server.server_address[1]}/api/v2"
        try:
            yield self.base_url
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self.base_url = previous

    def django_view(self, request: Any, path: str = "") -> Any:
        """A Django view answering under the URL it is mounted at (the demo's fake API).

        Mount it with ``path("<prefix>/<path:path>", fake.django_view)`` and set
        ``base_url`` to the absolute URL of ``<prefix>``.
        """
        from django.http import HttpResponse

        query = request.META.get("QUERY_STRING", "")
        url = f"{self.base_url}/{path}" + (f"?{query}" if query else "")
        status, headers, raw = self.handle(request.method, url, dict(request.headers), request.body)
        response = HttpResponse(raw, status=status)
        for key, value in headers.items():
            response[key] = value
        return response
