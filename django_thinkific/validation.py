"""Thinkific's rules for webhook fields, shared by the service layer and the fake API.

Checking them here, before calling out, gives the same answer Thinkific would
without a round trip, and the fake enforces exactly the same rules.
"""

from __future__ import annotations

import socket
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

FAKE_DOMAINS = ("example.com", "example.org", "example.net", "test", "invalid", "localhost")


def target_url_error(url: Any, *, allow_insecure: bool = False) -> str | None:
    """Thinkific's rule for a target URL; ``None`` when acceptable, else its message.

    https only, with a real public host name: no localhost, no bare IP, no
    reserved "fake" domain, no Thinkific domain. ``allow_insecure`` (local
    development) also accepts a loopback host (``localhost``, ``127.0.0.1``,
    ``[::1]``), over http or https; a public host still needs https.
    """
    if not isinstance(url, str) or not url:
        return "is not valid"
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return "is not valid"
    if parts.scheme not in ("http", "https") or not host:
        return "is not valid"
    if allow_insecure and _is_loopback(host):
        return None
    if parts.scheme != "https":
        return "is not valid"
    if _is_ip_address(host):
        return "is not valid"
    if "." not in host or host.endswith(".thinkific.com") or host == "thinkific.com":
        return "is not valid"
    if any(host == d or host.endswith("." + d) for d in FAKE_DOMAINS):
        return "is not valid"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip_address(host: str) -> bool:
    """Any IP address, including the shorthand forms C resolvers accept (127.1, 0x7f.1)."""
    try:
        ip_address(host)
    except ValueError:
        pass
    else:
        return True
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def webhook_url_error(url: Any, *, allow_insecure: bool = False) -> str | None:
    """The whole local rule for a webhook's target URL; ``None`` when acceptable.

    What the admin form, the REST API and the service layer all apply before
    calling Thinkific: first the model field's own validators (Django's
    ``URLValidator`` and the column's length, exactly as ``full_clean`` would),
    then Thinkific's rule (:func:`target_url_error`). A refusal is Thinkific's
    message, "is not valid". The fake API applies only Thinkific's rule.
    """
    from django.core.exceptions import ValidationError

    from .models import Subscription  # here, not at import: the fake API imports this module

    if not isinstance(url, str) or not url or "\x00" in url:
        return "is not valid"
    try:
        Subscription._meta.get_field("target_url").run_validators(url)
    except ValidationError:
        return "is not valid"
    return target_url_error(url, allow_insecure=allow_insecure)
