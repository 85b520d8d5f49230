"""Thinkific API failures as DRF errors, decided in one place.

The mapping follows whose problem it is. A refused webhook (422) is the
caller's: the field errors come back as they would from a serializer. Anything
else that went wrong between this site and Thinkific (unreachable, a 5xx, an
unexpected answer, or Thinkific refusing *this site's* API key) is not the
caller's fault, so it is a 502 Bad Gateway rather than a 4xx the client would
try to fix. Rate limiting and a disabled API are temporary: 503, with
``Retry-After`` when Thinkific said how long to wait.

Messages come from :mod:`django_thinkific.errors`, which never include the
API key.
"""

from __future__ import annotations

import math

from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.settings import api_settings

from ..errors import APIDisabled, RateLimited, RecordNotFound, ThinkificAPIError, ValidationFailed


class WebhookRefused(ValidationError):
    """422: the webhook breaks Thinkific's rules (checked here first, or by Thinkific)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "refused"


class BadGateway(APIException):
    """502: Thinkific failed this site, not the caller."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = _("Thinkific could not complete the request.")
    default_code = "bad_gateway"


class ServiceUnavailable(APIException):
    """503: try again later; ``wait`` (seconds) becomes ``Retry-After`` when known."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The Thinkific API is unavailable.")
    default_code = "service_unavailable"

    def __init__(self, detail: str | None = None, *, wait: int | None = None) -> None:
        super().__init__(detail)
        self.wait = wait


def field_errors(exc: ValidationFailed) -> dict[str, list[str]]:
    """``{field: [messages]}``; ``__all__`` under DRF's non-field key, as a serializer does."""
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): list(messages)
        for field, messages in exc.errors.items()
    }


def to_api_exception(exc: ThinkificAPIError, *, not_found_is_404: bool = True) -> APIException:
    """The DRF exception to answer with for a failure of the service layer.

    ``not_found_is_404`` is off where a 404 from Thinkific cannot mean "this
    webhook is gone" (listing every webhook for a sync): there it means the
    site's ``API_BASE_URL`` is wrong, an upstream problem.
    """
    if isinstance(exc, ValidationFailed):
        return WebhookRefused(field_errors(exc))
    if isinstance(exc, RecordNotFound) and not_found_is_404:
        return NotFound(_("Thinkific has no such webhook (404): it was deleted there. Run a sync."))
    if isinstance(exc, RateLimited):
        wait = math.ceil(exc.retry_after) if exc.retry_after is not None else None
        return ServiceUnavailable(exc.message, wait=wait)
    if isinstance(exc, APIDisabled):
        return ServiceUnavailable(exc.message)
    # APIKeyRefused, ServerError, APIConnectionError, BadResponse, any other status.
    return BadGateway(exc.message)
