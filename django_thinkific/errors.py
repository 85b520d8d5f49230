"""Every public error of the package, in one module.

Two families:

* :class:`ThinkificAPIError` and its subclasses: a failure talking to
  Thinkific's Webhooks API (raised by ``client``, ``services.subscriptions``
  and ``services.sending``). Each message is one plain sentence fit for an
  admin message, a form error or a command's stderr, and never contains the
  API key.
* :class:`DeliveryRefused` and its subclasses: why the webhook endpoint did
  not answer 200. Each carries its answer, as DRF's ``APIException`` does:
  ``status_code``, the public ``detail`` and any ``headers``, plus how the
  endpoint logs it, so the view has a single ``except``.

The names never shadow DRF's or Django's: ``RecordNotFound`` and
``APIKeyRefused`` are the classes once called ``NotFound`` and
``AuthenticationFailed`` (the names DRF gives its own 404 and 401); the old
names stay as aliases of the same classes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

# --- the Webhooks API ---------------------------------------------------------------------


class ThinkificAPIError(Exception):
    """Any failure talking to the Webhooks API."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class APIKeyRefused(ThinkificAPIError):
    """401/403: the API key (or access token) was refused."""


class RecordNotFound(ThinkificAPIError):
    """404: no such webhook or event."""


class ValidationFailed(ThinkificAPIError):
    """422 (or our own identical check before calling out).

    ``errors`` is always ``{field: [message, ...]}`` whichever of Thinkific's
    documented shapes came back; ``url`` is reported as ``target_url`` and
    errors not tied to a field under ``"__all__"``.
    """

    def __init__(self, errors: dict[str, list[str]], *, status: int | None = 422) -> None:
        self.errors = errors
        detail = "; ".join(
            f"{field.replace('_', ' ')} {msg}" if field != "__all__" else msg
            for field, messages in errors.items()
            for msg in messages
        )
        super().__init__(f"Thinkific refused the webhook: {detail}", status=status)


class RateLimited(ThinkificAPIError):
    """429, still refused after the retries; ``retry_after`` in seconds when known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, status=429)
        self.retry_after = retry_after


class ServerError(ThinkificAPIError):
    """5xx from Thinkific."""


class APIConnectionError(ThinkificAPIError):
    """Thinkific could not be reached, or did not answer in time."""


class BadResponse(ThinkificAPIError):
    """Thinkific answered with something that is not the documented JSON."""


class APIDisabled(ThinkificAPIError):
    """The site set ``THINKIFIC['API_ENABLED'] = False`` or has no ``API_KEY``."""


#: The names these classes had first (documented, so kept): DRF has its own of each.
AuthenticationFailed = APIKeyRefused
NotFound = RecordNotFound


class UnusableWebhook(ValueError):
    """An item of Thinkific's answer that cannot be stored; the message says why."""


# --- the webhook endpoint -----------------------------------------------------------------


class DeliveryRefused(Exception):
    """A delivery the webhook endpoint does not answer 200, and what it answers instead.

    ``detail`` is the public message (the JSON answer's ``error``): the class's
    ``default_detail``, or the exception's own message where that is public
    (``default_detail = None``). ``str(exc)`` may hold more, for the log only.
    ``log_level`` (``None``: not logged) and ``log_message`` say how the
    endpoint logs it; the message may name ``%(client)s`` (the sender's
    address) and ``%(reason)s`` (``str(exc)``); ``log_traceback`` adds the
    traceback.
    """

    status_code: ClassVar[int] = 400
    default_detail: ClassVar[str | None] = None
    headers: ClassVar[Mapping[str, str]] = MappingProxyType({})
    log_level: ClassVar[int | None] = None
    log_message: ClassVar[str] = ""
    log_traceback: ClassVar[bool] = False

    @property
    def detail(self) -> str:
        return self.default_detail if self.default_detail is not None else str(self)


class SignatureError(DeliveryRefused):
    """The delivery is unsigned or signed with no key we accept (``str``: "missing"/"wrong")."""

    status_code = 401
    default_detail = "invalid signature"
    log_level = logging.WARNING
    log_message = "Refused a Thinkific delivery from %(client)s: %(reason)s signature"


class EnvelopeError(DeliveryRefused, ValueError):
    """The body is not an acceptable Thinkific envelope; the message says why (public)."""

    status_code = 400


class TooOld(EnvelopeError):
    """The signed ``created_at`` is older than the site's ``MAX_EVENT_AGE``."""


class BodyTooLarge(DeliveryRefused):
    """The body is over ``MAX_BODY_SIZE``; the message says the limit (public)."""

    status_code = 413


class LengthRequired(DeliveryRefused):
    """A chunked body the WSGI server did not decode, so the view cannot read it."""

    status_code = 411
    default_detail = "a chunked body cannot be read by this server; send a Content-Length"


class StorageUnavailable(DeliveryRefused):
    """The database could not store the event; the sender should retry.

    The message is the database's error: logged with its traceback, never sent.
    """

    status_code = 503
    default_detail = "event could not be stored, retry later"
    log_level = logging.ERROR
    log_message = "Could not store a Thinkific delivery; answering 503 so it is retried"
    log_traceback = True


class InFlight(DeliveryRefused):
    """Another process is running this event's receivers right now (``str``: its id).

    Answered with 503 so that Thinkific retries: if that process finishes, the
    retry finds the event processed (200); if it died, the retry takes the
    event over once its claim is older than ``PROCESSING_TIMEOUT``. Answering
    200 here would let an event whose process died stay pending for good.
    """

    status_code = 503
    default_detail = "event is being processed; retry later"
    headers = MappingProxyType({"Retry-After": "10"})


# --- the broker ---------------------------------------------------------------------------


class PublishTimeout(Exception):
    """The broker did not take the message within ``publishing.PUBLISH_TIMEOUT``."""
