"""The only code that talks HTTP to Thinkific's Webhooks API.

One ``requests.Session`` per client (keep-alive), a timeout on every call
(a total for the exchange, however slowly the answer comes: see
:mod:`django_thinkific.deadlines`), typed errors (:mod:`django_thinkific.errors`)
and retries with backoff:

- 429: retried for every method (Thinkific did not act on the request),
  honouring ``Retry-After`` or Thinkific's ``RateLimit-Reset`` (an epoch time
  or milliseconds until the reset) up to ``MAX_RETRY_AFTER``;
- connection failures and 5xx: retried only for idempotent methods (GET,
  PUT, DELETE). A POST that may have reached Thinkific is never repeated,
  because that could create a webhook twice; only a POST that could not
  connect at all is retried.
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests

from . import __version__
from .deadlines import DeadlineAdapter, deadline
from .errors import (
    APIConnectionError,
    APIDisabled,
    APIKeyRefused,
    BadResponse,
    RateLimited,
    RecordNotFound,
    ServerError,
    ThinkificAPIError,
    ValidationFailed,
)
from .signing import key_problem

logger = logging.getLogger("django_thinkific.client")

USER_AGENT = f"django-thinkific/{__version__} (+https://pypi.org/project/django-thinkific/)"
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
DEFAULT_PAGE_SIZE = 25  # Thinkific's documented default
MAX_RETRY_AFTER = 60.0  # longer than this is not worth blocking a request for
MAX_PAGES = 10_000  # a webhook list without totals is refused after this many pages


def pause(seconds: float) -> None:
    """Wait between retries (a module function so tests can replace it)."""
    time.sleep(seconds)


@dataclass(frozen=True)
class Page:
    """One page of ``GET /webhooks``."""

    items: list[dict[str, Any]]
    next_cursor: str
    total_items: int | None
    number: int


def normalise_errors(body: Any) -> dict[str, list[str]]:
    """Turn any of Thinkific's 422 shapes into ``{field: [message, ...]}``.

    Seen in its docs: ``{"errors": {"topic": "invalid format"}}``,
    ``{"errors": {"topic": ["invalid format"]}}``, ``{"errors": {"url": ...}}``
    and, per the schema, ``{"errors": [{"topic": "..."}]}``.
    """
    raw = body.get("errors", body.get("error")) if isinstance(body, dict) else body
    result: dict[str, list[str]] = {}

    def add(field: str, message: Any) -> None:
        field = {"url": "target_url", "base": "__all__"}.get(field, field)
        if isinstance(message, (list, tuple)):
            for item in message:
                add(field, item)
        elif message not in (None, ""):
            result.setdefault(field, []).append(str(message))

    if isinstance(raw, dict):
        for field, message in raw.items():
            add(str(field), message)
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict):
                for field, message in item.items():
                    add(str(field), message)
            else:
                add("__all__", item)
    elif raw:
        add("__all__", raw)
    return result or {"__all__": ["is not valid"]}


def _webhook(body: Any) -> dict[str, Any]:
    """A webhook object as documented, or :class:`BadResponse` (never a KeyError later)."""
    if not isinstance(body, dict) or body.get("id") in (None, ""):
        raise BadResponse("Thinkific's answer is not a webhook (no id)")
    return body


#: A plain number of seconds or milliseconds: ASCII digits, an optional fraction.
_NUMBER = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,6})?", re.ASCII)
#: ``RateLimit-Reset`` from here up is an epoch time (10**9 s is September 2001);
#: below, milliseconds until the reset (10**9 ms would be 11.6 days, no rate-limit window).
EPOCH_FROM = 1e9
#: A wait longer than this is not believed: the header is ignored (backoff applies).
MAX_BELIEVABLE_WAIT = 86400.0


def _seconds(wait: float) -> float | None:
    if not math.isfinite(wait):
        return None
    wait = max(0.0, wait)
    return wait if wait <= MAX_BELIEVABLE_WAIT else None


def _number(value: str) -> float | None:
    text = value.strip()
    return float(text) if _NUMBER.fullmatch(text) else None


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait before retrying a 429, when Thinkific says; ``None`` otherwise.

    ``Retry-After`` (seconds or an HTTP date) first; else ``RateLimit-Reset``, which
    Thinkific documents both as an epoch time and as milliseconds until the reset
    (told apart by size, see ``EPOCH_FROM``). Anything else is ignored.
    """
    now = time.time()
    value = response.headers.get("Retry-After")
    if value:
        number = _number(value)
        if number is not None:
            return _seconds(number)
        try:
            return _seconds(parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError, OverflowError):
            pass
    number = _number(response.headers.get("RateLimit-Reset") or "")
    if number is None:
        return None
    return _seconds(number - now if number >= EPOCH_FROM else number / 1000)


def _count(value: Any) -> int | None:
    """A count from the pagination meta (a JSON number, maybe 5.0), or ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value < 0 or value > 10**9 or value != int(value):
        return None
    return int(value)


def _expected_pages(page: dict[str, Any], total_items: int | None, first: int) -> int | None:
    """How many pages the first page's meta announces, from either of its totals."""
    estimates = []
    total_pages = _count(page.get("total_pages"))
    if total_pages is not None:
        estimates.append(total_pages)
    if total_items is not None:
        estimates.append(-(-total_items // max(first, 1)))
    return max(estimates, default=None)


class ThinkificClient:
    """A client for one Thinkific site's Webhooks API.

    >>> client = ThinkificClient(api_key="...", base_url="https://api.thinkific.com/api/v2")
    >>> for webhook in client.list_webhooks():
    ...     print(webhook["topic"], webhook["target_url"])
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._session = session or requests.Session()
        for prefix in ("https://", "http://"):
            self._session.mount(prefix, DeadlineAdapter())  # ``timeout`` bounds each call
        # A key the header cannot carry is never put in it: every call then fails with
        # APIDisabled (see ``_request``), and nothing in this frame can fail.
        self._key_problem = key_problem(api_key) if isinstance(api_key, str) else "not text"
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if self._key_problem is None:
            headers["Authorization"] = f"Bearer {api_key}"
        self._session.headers.update(headers)

    def __repr__(self) -> str:
        return f"<ThinkificClient {self.base_url}>"

    def close(self) -> None:
        self._session.close()

    # --- webhooks ---------------------------------------------------------------------

    def pages(self, *, limit: int = DEFAULT_PAGE_SIZE) -> Iterator[Page]:
        """Every page of webhooks, following the ``next_page`` cursor, for a bounded time.

        The first page's ``total_pages`` / ``total_items`` say how many pages
        to expect; a cursor that still goes on after twice that (room for a
        list that grows while it is read) plus one, or after :data:`MAX_PAGES`
        when the answer gives no totals, is refused as a :class:`BadResponse`,
        as is a cursor seen twice.
        """
        cursor = ""
        seen: set[str] = set()
        number = 0
        bound, said = MAX_PAGES, f"the {MAX_PAGES} this client reads at most"
        while True:
            if number >= bound:
                raise BadResponse(f"Thinkific's webhook list went on for more pages than {said}")
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["next"] = cursor
            body = self._request("GET", "/webhooks", params=params)
            items = body.get("items") if isinstance(body, dict) else None
            meta = body.get("meta") if isinstance(body, dict) else None
            page = meta.get("page") if isinstance(meta, dict) else None
            if not isinstance(items, list) or not isinstance(page, dict):
                raise BadResponse("Thinkific's webhook list has no items/meta.page")
            number += 1
            cursor = str(page.get("next_page") or "") if page.get("has_next", True) else ""
            total = _count(page.get("total_items"))
            if number == 1:
                expected = _expected_pages(page, total, len(items))
                if expected is not None:
                    bound = min(MAX_PAGES, 2 * expected + 1)
                    said = f"it said it has ({expected})"
            yield Page(items=items, next_cursor=cursor, total_items=total, number=number)
            if not cursor:
                return
            if cursor in seen:  # a server bug must not make us loop forever
                raise BadResponse(f"Thinkific returned the cursor {cursor!r} twice")
            seen.add(cursor)

    def list_webhooks(self, *, limit: int = DEFAULT_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every webhook of the site, across all pages."""
        for page in self.pages(limit=limit):
            yield from page.items

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        return _webhook(self._request("GET", f"/webhooks/{quote(str(webhook_id), safe='')}"))

    def create_webhook(self, *, topic: str, target_url: str) -> dict[str, Any]:
        body = {"topic": topic, "target_url": target_url}
        return _webhook(self._request("POST", "/webhooks", json=body))

    def update_webhook(self, webhook_id: str, *, topic: str, target_url: str) -> dict[str, Any]:
        return _webhook(
            self._request(
                "PUT",
                f"/webhooks/{quote(str(webhook_id), safe='')}",
                json={"topic": topic, "target_url": target_url},
            )
        )

    def delete_webhook(self, webhook_id: str) -> None:
        self._request("DELETE", f"/webhooks/{quote(str(webhook_id), safe='')}")

    def get_event(self, event_id: str) -> dict[str, Any]:
        return self._request("GET", f"/events/{quote(str(event_id), safe='')}")

    # --- transport --------------------------------------------------------------------

    def _delay(self, attempt: int) -> float:
        base = self.backoff * (2**attempt)
        return base + random.uniform(0, base / 2)  # noqa: S311  (jitter, not crypto)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._key_problem:
            raise APIDisabled(
                f"The API key (THINKIFIC['API_KEY']) holds a character an HTTP header cannot "
                f"carry ({self._key_problem}), so nothing was sent to Thinkific; "
                f"manage.py check reports it as django_thinkific.E014"
            )
        url = f"{self.base_url}{path}"
        attempt = 0
        while True:
            body, error, retry = self._attempt(method, url, kwargs)
            if error is None:
                return body
            if not retry or attempt >= self.max_retries:
                # Raised here, outside any ``except``: no chained exception, and no frame
                # of requests or http.client (whose locals hold the Authorization header)
                # is on the traceback.
                raise error
            wait = (
                error.retry_after
                if isinstance(error, RateLimited) and error.retry_after is not None
                else self._delay(attempt)
            )
            logger.debug("%s %s: %s; retrying in %.1fs", method, path, error, wait)
            pause(wait)
            attempt += 1

    def _attempt(
        self, method: str, url: str, kwargs: dict[str, Any]
    ) -> tuple[Any, ThinkificAPIError | None, bool]:
        """One exchange: ``(body, None, False)`` or ``(None, error, retry)``; never raises.

        Any failure to send, whatever its type (requests' own errors, but also e.g.
        ``UnicodeEncodeError`` from ``http.client`` encoding a header), becomes a typed
        error naming only the exception's type: its message and its traceback's locals
        may quote the Authorization header. Neither the exception nor the response
        (whose ``request`` holds the headers) leaves this method.
        """
        idempotent = method in IDEMPOTENT
        late = f"Thinkific did not answer within {self.timeout:g} seconds"
        try:
            with deadline(self.timeout) as end:  # the whole exchange, body included
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.ConnectTimeout:
            reason = "connection timed out"
            return None, APIConnectionError(self._unreachable(reason)), True  # never connected
        except requests.Timeout:
            return None, APIConnectionError(late), idempotent
        except requests.ConnectionError:
            if time.monotonic() >= end:  # how requests reports a body that came too slowly
                return None, APIConnectionError(late), idempotent
            return None, APIConnectionError(self._unreachable("connection failed")), idempotent
        except Exception as exc:
            message = f"Thinkific could not be called at {self.base_url} ({type(exc).__name__})"
            return None, APIConnectionError(message), False
        try:
            if response.status_code < 400:
                return self._json(response)
            error = self._error(response)
        finally:
            response.close()
        if isinstance(error, RateLimited):
            retry = error.retry_after is None or error.retry_after <= MAX_RETRY_AFTER
        else:
            retry = isinstance(error, ServerError) and idempotent
        return None, error, retry

    def _unreachable(self, reason: str) -> str:
        return f"Thinkific could not be reached at {self.base_url} ({reason})"

    @staticmethod
    def _json(response: requests.Response) -> tuple[Any, ThinkificAPIError | None, bool]:
        if response.status_code == 204 or not response.content:
            return None, None, False
        try:
            return response.json(), None, False
        except ValueError:
            message = f"Thinkific answered {response.status_code} with a body that is not JSON"
        return None, BadResponse(message), False

    @staticmethod
    def _error(response: requests.Response) -> ThinkificAPIError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if status in (401, 403):
            return APIKeyRefused(f"Thinkific refused the API key ({status})", status=status)
        if status == 404:
            return RecordNotFound("Thinkific has no such record (404)", status=404)
        if status == 422:
            return ValidationFailed(normalise_errors(body))
        if status == 429:
            return RateLimited(
                "Thinkific is rate limiting this site (429)", retry_after=_retry_after(response)
            )
        if status >= 500:
            return ServerError(f"Thinkific had a server error ({status})", status=status)
        return ThinkificAPIError(f"Thinkific answered {status}", status=status)
