"""Thinkific's signature scheme, in one place (no Django models imported).

A delivery carries ``X-Thinkific-Hmac-Sha256``: the hex HMAC-SHA256 of the
raw request body, keyed by the API key or the app's client secret.

A key is also what the client sends as ``Authorization: Bearer <key>``, so
:func:`key_problem` is the one rule for which characters a key may hold.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Iterable


def key_problem(secret: str) -> str | None:
    """Why ``secret`` cannot be used as a key, or ``None`` when it can.

    A key travels in an HTTP header and keys an HMAC over its UTF-8 bytes. A
    header value can carry only visible ASCII and inner spaces (RFC 9110's
    other "obs-text" bytes are obsolete, and ``http.client`` would encode them
    as Latin-1, i.e. other bytes than the HMAC's UTF-8), so those are the only
    characters that mean the same thing in both places. The answer names the
    first other character by code point, never the key.
    """
    for position, char in enumerate(secret):
        if not " " <= char <= "~":
            name = unicodedata.name(char, "")
            label = f"U+{ord(char):04X}" + (f" {name}" if name else "")
            return f"{label} at position {position + 1}"
    return None


def compute_signature(body: bytes, secret: str) -> str:
    # surrogatepass: a key holding a lone surrogate (``key_problem`` reports it) matches
    # nothing instead of raising on every delivery.
    return hmac.new(secret.encode("utf-8", "surrogatepass"), body, hashlib.sha256).hexdigest()


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
