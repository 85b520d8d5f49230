"""Send-test and SSRF (issue 10, item 15).

A fully-qualified name (``https://localhost./``) passed the static target rule,
and a public-looking name whose DNS answer is 127.0.0.1 was connected to.
Now the rule normalises a trailing dot, every address the name resolves to is
checked at send time, and the connection goes to the address that was checked
(a second DNS answer never matters), with the Host header, TLS SNI and the
certificate check still on the host name.
"""

import http.server
import json
import socket
import ssl
import subprocess
import threading
from contextlib import contextmanager
from ipaddress import IPv4Address, IPv6Address

import pytest
import responses
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from hypothesis import example, given
from hypothesis import strategies as st

from django_thinkific.testing import sign
from django_thinkific.validation import address_error, target_url_error
from tests.factories import SubscriptionFactory
from tests.settings import API_KEY

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"
NAME = "hooks.acme-shop.io"
REAL_GETADDRINFO = socket.getaddrinfo


class DNS:
    """``socket.getaddrinfo`` answering a queue of address lists per name; others pass through."""

    def __init__(self):
        self.answers: dict[str, list[list[str]]] = {}
        self.asked: list[str] = []

    def set(self, name, *answers):
        self.answers[name.rstrip(".")] = [list(a) for a in answers]

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        key = host.rstrip(".") if isinstance(host, str) else host
        if key not in self.answers:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        self.asked.append(key)
        queue = self.answers[key]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        result = []
        for address in addresses:
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (
                (address, port or 0, 0, 0) if fam == socket.AF_INET6 else (address, port or 0)
            )
            result.append((fam, socket.SOCK_STREAM, 6, "", sockaddr))
        return result


@pytest.fixture
def dns(monkeypatch):
    fake = DNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def send_test(api, url):
    sub = SubscriptionFactory(topic="order.created", target_url=url)
    return api.post(reverse("django_thinkific:subscription-send-test", args=[sub.pk]))


# --- the static rule ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://localhost./hook",
        "https://app.localhost./hook",
        "https://127.0.0.1./hook",
        "https://10.0.0.1./hook",
        "https://example.com./hook",
        "https://shop.thinkific.com./hook",
        "https://shop.acme.io../hook",
        "https://.shop.acme.io/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::ffff:7f00:1]/hook",
        "https://[fe80::1%25eth0]/hook",
        "https://2130706433/hook",  # 127.0.0.1 as one decimal number
        "https://0177.0.0.1/hook",  # octal
        "https://0x7f000001/hook",
        "https://127.1./hook",
    ],
)
def test_the_rule_refuses_loopback_and_ip_forms_with_or_without_a_trailing_dot(
    staff_api, target, dns, url
):
    response = send_test(staff_api, url)
    assert response.status_code == 422, response.content
    assert response.json() == {"target_url": ["is not valid"]}
    assert len(target.calls) == 0
    assert dns.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost.:8000/hook",
        "http://app.localhost.:8000/hook",
        "http://127.0.0.2:8000/hook",
        "http://[::ffff:127.0.0.1]:8000/hook",
    ],
)
def test_insecure_targets_accept_every_spelling_of_loopback(staff_api, target, thinkific, dns, url):
    thinkific(ALLOW_INSECURE_TARGETS=True)
    dns.set("app.localhost", ["127.0.0.1"])  # not every resolver knows RFC 6761's names
    target.add(responses.POST, url, status=200)
    response = send_test(staff_api, url)
    assert response.status_code == 200, response.content
    assert response.json()["status_code"] == 200


def test_a_trailing_dot_on_a_public_name_is_the_same_name(staff_api, target, dns):
    url = f"https://{NAME}./hook"
    dns.set(NAME, [PUBLIC])
    target.add(responses.POST, url, status=204)
    assert send_test(staff_api, url).json()["status_code"] == 204
    assert target.calls[0].request.headers["Host"] == NAME


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.2:8000/api/v2", True),
        ("http://localhost.:8000/api/v2", True),
        ("http://app.localhost:8000/api/v2", True),
        ("http://[::1]:8000/api/v2", True),
        ("http://10.0.0.2:8000/api/v2", False),
        ("http://127.1:8000/api/v2", False),
        ("http://api.acme.io/api/v2", False),
    ],
)
def test_api_base_url_uses_the_same_loopback_rule(settings, thinkific, url, ok):
    thinkific(API_BASE_URL=url)
    if ok:
        call_command("check", "--fail-level", "ERROR")
    else:
        with pytest.raises(SystemCheckError, match=r"django_thinkific\.E005"):
            call_command("check", "--fail-level", "ERROR")


# --- the addresses a name resolves to --------------------------------------------------

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",  # shared address space (carrier NAT)
    "0.0.0.0",  # noqa: S104
    "224.0.0.1",
    "224.0.1.1",  # multicast that ipaddress calls global
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.10",  # documentation
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fec0::1",  # site-local (deprecated)
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2001:db8::1",
]


@pytest.mark.parametrize("answer", REFUSED)
def test_a_public_name_resolving_to_an_internal_address_is_refused(staff_api, target, dns, answer):
    url = f"https://{NAME}/hook"
    dns.set(NAME, [answer])
    target.add(responses.POST, url, status=204)
    response = send_test(staff_api, url)
    assert response.status_code == 422, response.content
    assert response.json() == {"target_url": ["resolves to an address that is not public"]}
    assert answer not in response.content.decode()  # the answer is not disclosed
    assert len(target.calls) == 0


def test_one_internal_address_among_public_ones_is_refused(staff_api, target, dns):
    url = f"https://{NAME}/hook"
    dns.set(NAME, [PUBLIC, "2606:2800:220:1::1", "127.0.0.1"])
    target.add(responses.POST, url, status=204)
    assert send_test(staff_api, url).status_code == 422
    assert len(target.calls) == 0


@pytest.mark.parametrize(("answer", "sent"), [("127.0.0.1", True), ("10.0.0.5", False)])
def test_insecure_targets_open_loopback_answers_only(
    staff_api, target, dns, thinkific, answer, sent
):
    thinkific(ALLOW_INSECURE_TARGETS=True)
    url = f"https://{NAME}/hook"
    dns.set(NAME, [answer])
    target.add(responses.POST, url, status=204)
    response = send_test(staff_api, url)
    assert response.status_code == (200 if sent else 422)
    assert len(target.calls) == (1 if sent else 0)


def test_a_name_that_does_not_resolve_is_not_delivered(staff_api, target, monkeypatch):
    def nxdomain(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)
    body = send_test(staff_api, f"https://{NAME}/hook").json()
    assert (body["status_code"], body["ok"]) == (None, False)
    assert body["detail"] == (
        "The test event was not delivered: the target's host name could not be resolved."
    )


def test_the_admin_action_and_the_command_refuse_it_too(admin_client, target, dns):
    url = f"https://{NAME}/hook"
    dns.set(NAME, ["127.0.0.1"])
    sub = SubscriptionFactory(topic="order.created", target_url=url)
    response = admin_client.post(
        "/admin/django_thinkific/subscription/",
        {"action": "send_test_event_action", "_selected_action": [sub.pk]},
        follow=True,
    )
    assert "resolves to an address that is not public" in response.content.decode()
    with pytest.raises(Exception, match="resolves to an address that is not public"):
        call_command("thinkific_send_test", str(sub.pk))
    assert len(target.calls) == 0


# --- the connection goes to the address that was checked ------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append((dict(self.headers), body))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        return


@contextmanager
def serving(context=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.seen = []
    server.sni = []
    if context is not None:
        context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_second_dns_answer_is_never_used(staff_api, dns, thinkific):
    """DNS rebinding: the first answer is checked, later ones point elsewhere."""
    thinkific(ALLOW_INSECURE_TARGETS=True)
    with serving() as server:
        port = server.server_address[1]
        url = f"http://app.localhost:{port}/hook"
        dns.set("app.localhost", ["127.0.0.1"], ["10.255.255.1"], ["10.255.255.1"])
        body = send_test(staff_api, url).json()
    assert body["status_code"] == 202, body
    assert dns.asked == ["app.localhost"]  # resolved once, by the check
    ((headers, sent),) = server.seen
    assert headers["Host"] == f"app.localhost:{port}"
    assert headers["X-Thinkific-Hmac-Sha256"] == sign(sent, API_KEY)
    assert json.loads(sent)["resource"] == "order"


def test_a_refused_first_address_falls_back_to_the_next_checked_one(staff_api, dns, thinkific):
    thinkific(ALLOW_INSECURE_TARGETS=True)
    with serving() as server:
        port = server.server_address[1]
        # ::1 first, as many resolvers answer for localhost; nothing listens there.
        dns.set("app.localhost", ["::1", "127.0.0.1"])
        body = send_test(staff_api, f"http://app.localhost:{port}/hook").json()
    assert body["status_code"] == 202, body
    assert len(server.seen) == 1


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and two server certificates (for NAME and for another name), by openssl."""
    folder = tmp_path_factory.mktemp("tls")

    def run(command):
        subprocess.run(["openssl", *command.split()], cwd=folder, check=True, capture_output=True)

    run(
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=Test-CA -keyout ca.key -out ca.pem"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign"
    )
    for stem, name in (("right", NAME), ("wrong", "other.acme-shop.io")):
        run(f"req -newkey rsa:2048 -nodes -subj /CN={name} -keyout {stem}.key -out {stem}.csr")
        (folder / f"{stem}.ext").write_text(f"subjectAltName=DNS:{name}\n")
        run(
            f"x509 -req -in {stem}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
            f" -out {stem}.pem -extfile {stem}.ext"
        )
    return folder


def tls_context(certificates, stem):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates / f"{stem}.pem", certificates / f"{stem}.key")
    return context


def test_tls_sni_and_the_certificate_check_stay_on_the_host_name(
    staff_api, dns, thinkific, certificates, monkeypatch
):
    thinkific(ALLOW_INSECURE_TARGETS=True)  # lets the name resolve to loopback, nothing else
    monkeypatch.setattr("django_thinkific.sender.VERIFY", str(certificates / "ca.pem"))
    with serving(tls_context(certificates, "right")) as server:
        port = server.server_address[1]
        dns.set(NAME, ["127.0.0.1"], ["10.255.255.1"])
        body = send_test(staff_api, f"https://{NAME}:{port}/hook").json()
    assert body["status_code"] == 202, body
    assert server.sni == [NAME]
    assert server.seen[0][0]["Host"] == f"{NAME}:{port}"
    assert dns.asked == [NAME]


def test_a_certificate_for_another_name_is_refused(
    staff_api, dns, thinkific, certificates, monkeypatch
):
    thinkific(ALLOW_INSECURE_TARGETS=True)
    monkeypatch.setattr("django_thinkific.sender.VERIFY", str(certificates / "ca.pem"))
    with serving(tls_context(certificates, "wrong")) as server:
        port = server.server_address[1]
        dns.set(NAME, ["127.0.0.1"])
        body = send_test(staff_api, f"https://{NAME}:{port}/hook").json()
    assert (body["status_code"], body["ok"]) == (None, False)
    assert (
        body["detail"]
        == "The test event was not delivered: the target could not be reached (SSLError)."
    )
    assert server.seen == []


# --- properties over the whole address space -------------------------------------------

IPV4 = st.integers(0, 2**32 - 1).map(IPv4Address)


@given(ip=IPV4, allow=st.booleans())
@example(ip=IPv4Address("127.0.0.1"), allow=False)
@example(ip=IPv4Address("0.0.0.0"), allow=True)  # noqa: S104
@example(ip=IPv4Address("255.255.255.255"), allow=True)
@example(ip=IPv4Address("8.8.8.8"), allow=False)
def test_embedding_an_ipv4_address_in_ipv6_never_changes_the_verdict(ip, allow):
    verdict = address_error(str(ip), allow_loopback=allow)
    mapped = IPv6Address(f"::ffff:{ip}")
    sixtofour = IPv6Address((0x2002 << 112) | (int(ip) << 80) | 1)
    nat64 = IPv6Address(f"64:ff9b::{ip}")
    for form in (mapped, sixtofour, nat64):
        assert address_error(str(form), allow_loopback=allow) == verdict, form


@given(
    label=st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?\Z"),
    tld=st.sampled_from(["io", "com", "localhost", "test", "thinkific.com", "1", "0x7f"]),
    scheme=st.sampled_from(["http", "https"]),
    allow=st.booleans(),
)
@example(label="127.0.0", tld="1", scheme="https", allow=False)
@example(label="app", tld="localhost", scheme="http", allow=True)
def test_a_trailing_dot_never_changes_the_static_verdict(label, tld, scheme, allow):
    host = f"{label}.{tld}"
    plain = target_url_error(f"{scheme}://{host}/hook", allow_insecure=allow)
    dotted = target_url_error(f"{scheme}://{host}./hook", allow_insecure=allow)
    assert dotted == plain
