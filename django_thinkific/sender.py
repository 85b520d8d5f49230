"""The only code that sends HTTP to a site's own target URL (test events).

A test event goes where a stored subscription points, so staff must not be
able to aim it at the site's own network (SSRF). Before anything is sent:

- the URL has passed :func:`~django_thinkific.validation.target_url_error`
  (the caller checks it);
- its host name is resolved once, here, and every address it resolves to must
  pass :func:`~django_thinkific.validation.address_error` (public unicast;
  loopback too only with ``ALLOW_INSECURE_TARGETS``);
- the connection goes to an address that was checked (:class:`PinnedAdapter`),
  never to a second DNS answer (rebinding), while the ``Host`` header, TLS SNI
  and the certificate check stay on the host name.

No proxy or ``.netrc`` from the environment is used, redirects are not
followed, and only the status code of the answer is kept.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError

if TYPE_CHECKING:
    from requests.adapters import _HostParams, _PoolKwargs

from .deadlines import DeadlineAdapter, deadline
from .errors import ValidationFailed
from .validation import address_error

#: How the target's certificate is verified: ``True`` (requests' CA bundle) or a path.
VERIFY: bool | str = True
#: At most this many checked addresses are tried when connecting to one fails.
MAX_ADDRESSES = 4


@dataclass(frozen=True)
class Answer:
    """The target's status code, or why nothing was delivered (a short phrase)."""

    status_code: int | None = None
    error: str | None = None


class PinnedAdapter(DeadlineAdapter):
    """Connects to ``address`` whatever the URL's host resolves to now.

    urllib3 is handed the address as the pool's host, and the URL's host name
    as ``server_hostname`` (SNI) and ``assert_hostname`` (the certificate must
    be for the name, not for the address); the caller sends ``Host`` itself.
    """

    def __init__(self, address: str, hostname: str) -> None:
        super().__init__(max_retries=0)
        self.address = address
        self.hostname = hostname

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[_HostParams, _PoolKwargs]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        host_params["host"] = self.address
        if host_params.get("scheme") == "https":
            # types-requests lists only the TLS keys requests itself sets; urllib3's pool
            # takes these too (they are its connection's keyword arguments).
            tls = cast("dict[str, Any]", pool_kwargs)
            tls["server_hostname"] = self.hostname
            tls["assert_hostname"] = self.hostname
        return host_params, pool_kwargs


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without repeats."""
    addresses: list[str] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    allow_loopback: bool = False,
) -> Answer:
    """POST ``body`` to ``url`` over a connection to a checked address.

    Raises :class:`ValidationFailed` (``target_url``) when the host resolves to
    an address that may not be connected to; any other failure is an
    :class:`Answer` with ``error`` set, never an exception.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    name = host[:-1] if host.endswith(".") else host  # "shop.acme.io." is the same host
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    try:
        addresses = resolve(name, port)
    except (OSError, UnicodeError, ValueError):
        addresses = []
    if not addresses:
        return Answer(error="the target's host name could not be resolved")
    for address in addresses:
        message = address_error(address, allow_loopback=allow_loopback)
        if message:
            raise ValidationFailed({"target_url": [message]}, status=None)
    authority = f"[{name}]" if ":" in name else name
    if parts.port is not None and parts.port != default_port:
        authority = f"{authority}:{parts.port}"
    sent_headers = {**headers, "Host": authority}
    answer = Answer(error="the target could not be reached")
    with deadline(timeout) as end:  # in all: every address tried, every byte of the answer
        for address in addresses[:MAX_ADDRESSES]:
            answer, connected = _post_once(url, body, sent_headers, timeout, end, address, name)
            if connected:
                break
    return answer


def _post_once(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    end: float,
    address: str,
    hostname: str,
) -> tuple[Answer, bool]:
    """One attempt on one address: the answer, and whether a connection was made."""
    session = requests.Session()
    session.trust_env = False  # no proxy (it would resolve the name itself), no .netrc
    session.verify = VERIFY
    adapter = PinnedAdapter(address, hostname)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    try:
        response = session.post(
            url, data=body, headers=dict(headers), timeout=timeout, allow_redirects=False
        )
    except requests.ConnectTimeout:
        return Answer(error=f"no answer within {timeout:g} seconds"), False
    except requests.Timeout:
        return Answer(error=f"no answer within {timeout:g} seconds"), True
    except requests.ConnectionError as exc:
        if time.monotonic() >= end:  # how requests reports a body that came too slowly
            return Answer(error=f"no answer within {timeout:g} seconds"), True
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        refused = isinstance(reason, NewConnectionError)
        return Answer(error=f"the target could not be reached ({type(exc).__name__})"), not refused
    except Exception as exc:  # anything else the HTTP layer raises (e.g. a header it cannot encode)
        return Answer(error=f"the target could not be reached ({type(exc).__name__})"), True
    finally:
        session.close()
    response.close()
    return Answer(status_code=response.status_code), True
