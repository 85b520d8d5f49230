"""The only code that talks HTTP to Thinkific's Webhooks API.

One ``requests.Session`` per client (keep-alive), a timeout on every call,
typed errors (:mod:`django_thinkific.errors`) and retries with backoff:

- 429: retried for every method (Thinkific did not act on the request),
  honouring ``Retry-After``;
- connection failures and 5xx: retried only for idempotent methods (GET,
  PUT, DELETE). A POST that may have reached Thinkific is never repeated,
  because that could create a webhook twice; only a POST that could not
  connect at all is retried.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests

from . import __version__
from .errors import (
    APIConnectionError,
    AuthenticationFailed,
    BadResponse,
    NotFound,
    RateLimited,
    ServerError,
    ThinkificAPIError,
    ValidationFailed,
)

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


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


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
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep or pause
        self._session = session or requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            }
        )

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
        url = f"{self.base_url}{path}"
        idempotent = method in IDEMPOTENT
        attempt = 0
        while True:
            try:
                response = self._session.request(method, url, timeout=self.timeout, **kwargs)
            except requests.ConnectTimeout:
                error: ThinkificAPIError = APIConnectionError(
                    f"Thinkific could not be reached at {self.base_url} (connection timed out)"
                )
                retry = True  # never connected: safe even for POST
            except requests.Timeout:
                error = APIConnectionError(
                    f"Thinkific did not answer within {self.timeout:g} seconds"
                )
                retry = idempotent
            except requests.ConnectionError:
                error = APIConnectionError(
                    f"Thinkific could not be reached at {self.base_url} (connection failed)"
                )
                retry = idempotent
            except requests.RequestException as exc:
                # Anything else requests refuses (e.g. an invalid header): its message
                # may quote the Authorization header, so only its type is kept.
                raise APIConnectionError(
                    f"Thinkific could not be called at {self.base_url} ({type(exc).__name__})"
                ) from None
            else:
                if response.status_code < 400:
                    return self._json(response)
                error = self._error(response)
                if isinstance(error, RateLimited):
                    retry = error.retry_after is None or error.retry_after <= MAX_RETRY_AFTER
                else:
                    retry = isinstance(error, ServerError) and idempotent
            if not retry or attempt >= self.max_retries:
                raise error
            wait = (
                error.retry_after
                if isinstance(error, RateLimited) and error.retry_after is not None
                else self._delay(attempt)
            )
            logger.debug("%s %s: %s; retrying in %.1fs", method, path, error, wait)
            self._sleep(wait)
            attempt += 1

    @staticmethod
    def _json(response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise BadResponse(
                f"Thinkific answered {response.status_code} with a body that is not JSON"
            ) from None

    @staticmethod
    def _error(response: requests.Response) -> ThinkificAPIError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if status in (401, 403):
            return AuthenticationFailed(f"Thinkific refused the API key ({status})", status=status)
        if status == 404:
            return NotFound("Thinkific has no such record (404)", status=404)
        if status == 422:
            return ValidationFailed(normalise_errors(body))
        if status == 429:
            return RateLimited(
                "Thinkific is rate limiting this site (429)", retry_after=_retry_after(response)
            )
        if status >= 500:
            return ServerError(f"Thinkific had a server error ({status})", status=status)
        return ThinkificAPIError(f"Thinkific answered {status}", status=status)
