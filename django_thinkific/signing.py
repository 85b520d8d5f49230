"""Thinkific's signature scheme, in one place (no Django models imported).

A delivery carries ``X-Thinkific-Hmac-Sha256``: the hex HMAC-SHA256 of the
raw request body, keyed by the API key or the app's client secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable


def compute_signature(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, signature: str | None, secrets: Iterable[str]) -> bool:
    """Whether ``signature`` is the signature of ``body`` under any of ``secrets``.

    Every key is tried with a constant-time comparison and no early exit, so
    the time taken tells neither how much matched nor which key did.
    """
    if not signature:
        return False
    given = signature.strip().lower().encode("ascii", "replace")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(compute_signature(body, secret).encode("ascii"), given)
    return matched
