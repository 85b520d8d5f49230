"""Typed errors from Thinkific's Webhooks API.

Each message is one plain sentence fit for an admin message, a form error or
a command's stderr, and never contains the API key.
"""

from __future__ import annotations


class ThinkificAPIError(Exception):
    """Any failure talking to the Webhooks API."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class AuthenticationFailed(ThinkificAPIError):
    """401/403: the API key (or access token) was refused."""


class NotFound(ThinkificAPIError):
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
