"""Small helpers the test modules share: raw deliveries and HTTP Basic credentials.

Fixtures live in ``tests/conftest.py``; model and user builders in ``tests/factories.py``.
"""

from __future__ import annotations

import base64
from typing import Any

from django_thinkific.testing import sign
from tests.settings import API_KEY

#: The webhook endpoint as the test site mounts it.
WEBHOOK_URL = "/thinkific/webhooks/"


def raw_post(client: Any, body: bytes, signature: str | None = None, **extra: Any) -> Any:
    """POST ``body`` to the webhook exactly as given; ``signature`` is sent as
    ``X-Thinkific-Hmac-Sha256`` when given (none: an unsigned delivery)."""
    if signature is not None:
        extra["HTTP_X_THINKIFIC_HMAC_SHA256"] = signature
    return client.post(WEBHOOK_URL, data=body, content_type="application/json", **extra)


def signed_post(client: Any, body: bytes, **extra: Any) -> Any:
    """POST ``body`` exactly as given, signed with the test site's API key."""
    return raw_post(client, body, sign(body, API_KEY), **extra)


def basic(username: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
