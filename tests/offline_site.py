"""gunicorn config (``-c python:tests.offline_site``): the site resolves loopback names only.

For the schema fuzz test: whatever target URL a generated request manages to store, a
test event it sends can reach nothing but this machine. Imported by gunicorn's master,
before it forks the workers, so they inherit the patched resolver.
"""

import socket

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", None})
_resolve = socket.getaddrinfo


def _loopback_only(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name not in _LOOPBACK:
        raise socket.gaierror(socket.EAI_NONAME, f"offline test site: {name!r} is not resolved")
    return _resolve(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only
