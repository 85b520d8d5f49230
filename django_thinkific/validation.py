"""Thinkific's rules for webhook fields, shared by the service layer and the fake API.

Checking them here, before calling out, gives the same answer Thinkific would
without a round trip, and the fake enforces exactly the same rules.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
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
    if host.endswith("."):  # a fully-qualified name is the same host: judge it without the dot
        host = host[:-1]
    if (
        parts.scheme not in ("http", "https")
        or not host
        or ".." in host
        or "." in (host[0], host[-1])
    ):
        return "is not valid"
    if allow_insecure and is_loopback_host(host):
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


#: E005's sentence for plain http to a host that is not loopback.
HTTPS_ONLY = "must use https (the API key travels in every request)"


def api_base_url_error(url: str) -> str | None:
    """What E005 says of ``url`` as ``API_BASE_URL``; ``None`` when the client may call it.

    An http(s) URL with a host, a port that is a port, no space or invisible
    character in its host, and https unless the host is loopback (the same rule
    as target URLs, :func:`is_loopback_host`).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is no port (":abc", ":99999")
    except ValueError:
        return "is not a valid http(s) URL"
    if parts.scheme not in ("http", "https") or not host:
        return "is not a valid http(s) URL"
    if any(char.isspace() or not char.isprintable() for char in parts.netloc):
        return "has a space or an invisible character in its host"
    if parts.scheme != "https" and not is_loopback_host(host):
        return HTTPS_ONLY
    return None


def is_loopback_host(host: str) -> bool:
    """THE loopback rule, for target URLs and for ``API_BASE_URL`` alike.

    ``localhost`` and names under ``.localhost`` (RFC 6761), ``127.0.0.0/8`` and
    ``::1``, also IPv4-mapped (``::ffff:127.0.0.1``); a trailing dot changes
    nothing. Shorthand IPv4 (``127.1``) is not loopback here: it is refused as
    an IP address in any form.
    """
    host = host.lower().strip("[]")
    if host.endswith("."):
        host = host[:-1]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _address(host)
    return address is not None and address.is_loopback


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


#: IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052).
_NAT64 = ip_network("64:ff9b::/96")


def _address(text: str) -> IPv4Address | IPv6Address | None:
    """An IP address, the IPv4 one inside IPv6 forms that embed it; ``None`` if not an IP."""
    try:
        address = ip_address(text.split("%", 1)[0])  # without an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return None
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_error(address: str, *, allow_loopback: bool = False) -> str | None:
    """Whether an address a target's host name resolved to may be connected to.

    ``None`` for a public unicast address (and, with ``allow_loopback``, a
    loopback one); otherwise the message. Loopback, private, shared, link-local,
    site-local, reserved, documentation, multicast and unspecified addresses are
    refused, also when embedded in IPv6 (IPv4-mapped, 6to4, NAT64).
    """
    ip = _address(address)
    if ip is None:
        return "resolves to an address that is not public"
    if ip.is_loopback:
        return None if allow_loopback else "resolves to an address that is not public"
    internal = (
        not ip.is_global
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or (isinstance(ip, IPv6Address) and ip.is_site_local)
    )
    return "resolves to an address that is not public" if internal else None


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
