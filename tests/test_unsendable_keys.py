"""Keys an HTTP header cannot carry (issue 10, item 5), over real HTTP.

A key pasted with an invisible character that is not whitespace (U+200B, a
BOM, a control character) survives ``str.strip()``. ``http.client`` encodes
header values as Latin-1 and raised ``UnicodeEncodeError`` (not a requests
error), so every API call was a 500, and Django's DEBUG page showed
``Authorization: Bearer <key>`` in a frame's locals. The ``responses`` mock
never encodes headers, so these tests use the fake API's real server.
"""

import json
import logging
import re

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from rest_framework.test import APIClient

from django_thinkific.client import ThinkificClient
from django_thinkific.errors import APIConnectionError, APIDisabled, ThinkificAPIError
from django_thinkific.models import ReceivedEvent, Subscription
from django_thinkific.services.subscriptions import _client_for
from django_thinkific.testing import sample_event, sign
from django_thinkific.testing.fake_api import FakeThinkificAPI

pytestmark = pytest.mark.django_db

KEY = "tk-live-5f0c2a9e41b7"
TARGET = "https://shop.acme.io/thinkific/webhooks/"
SUBS = "/admin/django_thinkific/subscription/"

#: Characters a pasted key may carry that an HTTP header (or the HMAC, as UTF-8) cannot
#: mean the same way: invisible format characters, controls, and anything beyond ASCII.
BAD = {
    "zero width space": "\u200b",
    "byte order mark": "\ufeff",
    "zero width joiner": "\u200d",
    "NUL": "\x00",
    "DEL": "\x7f",
    "escape": "\x1b",
    "inner tab": "\t",
    "inner newline": "\n",
    "Latin-1 letter": "\xe9",
    "soft hyphen": "\xad",
    "euro sign": "\u20ac",
    "emoji": "\U0001f511",
    "lone surrogate": "\ud800",
}


def check_messages(settings, thinkific):
    settings.THINKIFIC = thinkific
    try:
        call_command("check", "--fail-level", "WARNING")
    except SystemCheckError as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("char", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize(
    "setting",
    ["API_KEY", "APP_CLIENT_SECRET", "WEBHOOK_SECRETS", "WEBHOOK_SECRETS as a string"],
)
def test_check_reports_a_key_a_header_cannot_carry_e012(settings, setting, char):
    bad = KEY[:6] + char + KEY[6:]
    conf = {"API_KEY": KEY, "API_BASE_URL": "https://api.thinkific.com/api/v2"}
    if setting == "WEBHOOK_SECRETS":
        conf["WEBHOOK_SECRETS"] = ["whsec-good-1", bad]
        name = "THINKIFIC['WEBHOOK_SECRETS'][1]"
    elif setting == "WEBHOOK_SECRETS as a string":
        conf["WEBHOOK_SECRETS"] = f"whsec-good-1,{bad}"
        name = "THINKIFIC['WEBHOOK_SECRETS'][1]"
    else:
        conf[setting] = bad
        name = f"THINKIFIC[{setting!r}]"
    text = check_messages(settings, conf)
    assert "django_thinkific.E014" in text
    assert name in text
    assert f"U+{ord(char):04X}" in text  # says which character, never the key
    assert KEY[:6] not in text
    assert KEY[6:] not in text


@pytest.mark.parametrize(
    "good",
    [
        KEY,
        "AbCdEf0123456789-._~+/=",
        "!#$%&'*()<>?@[]^`{|}",  # every visible ASCII character is carried as is
        "  " + KEY + "\u00a0\n",  # surrounding whitespace: stripped, W003 only
    ],
)
def test_keys_of_visible_ascii_pass(settings, good):
    conf = {"API_KEY": good, "APP_CLIENT_SECRET": good, "WEBHOOK_SECRETS": [good]}
    text = check_messages(settings, conf)
    assert "E014" not in text
    assert set(re.findall(r"django_thinkific\.[EW]\d{3}", text)) <= {"django_thinkific.W003"}


@pytest.fixture
def served(thinkific):
    """The fake API over real HTTP, with the site's key set to ``KEY`` plus a stray ZWSP."""
    fake = FakeThinkificAPI(api_key=KEY)
    with fake.serve() as url:
        thinkific(API_BASE_URL=url, API_KEY=KEY + "\u200b", WEBHOOK_SECRETS=None)
        _client_for.cache_clear()
        yield fake
    _client_for.cache_clear()


def _frames(exc):
    """Every frame reachable from an exception: its traceback and its causes' and contexts'."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            yield tb.tb_frame
            tb = tb.tb_next
        exc = exc.__cause__ or exc.__context__


def assert_key_out_of_reach(exc):
    assert KEY not in str(exc)
    assert KEY not in repr(exc)
    assert exc.__cause__ is None
    assert exc.__context__ is None
    for frame in _frames(exc):
        for name, value in frame.f_locals.items():
            assert KEY not in repr(value), f"{frame.f_code.co_name}: {name}"
            if isinstance(value, (dict, list, tuple)):
                assert KEY not in str(value), f"{frame.f_code.co_name}: {name}"


@pytest.mark.parametrize("char", ["\u200b", "\ufeff", "\x00", "\u20ac", "\ud800"])
def test_the_client_raises_its_own_error_with_the_key_out_of_reach(char):
    fake = FakeThinkificAPI(api_key=KEY)
    with fake.serve() as url:
        client = ThinkificClient(api_key=KEY + char, base_url=url)
        with pytest.raises(ThinkificAPIError) as info:
            list(client.list_webhooks())
        client.close()
    assert isinstance(info.value, APIDisabled)
    assert "API key" in str(info.value)
    assert "header" in str(info.value)
    assert_key_out_of_reach(info.value)
    assert fake.calls == []  # nothing was sent


def test_any_failure_to_send_becomes_a_typed_error_over_real_http():
    """Whatever the HTTP layer raises (here: another header it cannot encode), no bare
    exception escapes, and none chained to it keeps the Authorization header in reach."""
    fake = FakeThinkificAPI(api_key=KEY)
    session = requests.Session()
    session.headers["X-Trace"] = "r\u00e9sum\u00e9 \u2014 ok"  # U+2014 is not Latin-1
    with fake.serve() as url:
        client = ThinkificClient(api_key=KEY, base_url=url, session=session)
        with pytest.raises(APIConnectionError) as info:
            client.create_webhook(topic="order.created", target_url=TARGET)
        client.close()
    assert "UnicodeEncodeError" in str(info.value)
    assert_key_out_of_reach(info.value)


@pytest.mark.parametrize("debug", [False, True])
def test_rest_with_such_a_key_is_a_clear_503_not_a_500(served, settings, debug, caplog, admin_user):
    settings.DEBUG = debug
    api = APIClient()
    api.raise_request_exception = False
    api.force_login(admin_user)
    with caplog.at_level(logging.DEBUG):
        created = api.post(
            reverse("django_thinkific:subscription-list"),
            {"topic": "order.created", "target_url": TARGET},
            format="json",
        )
        synced = api.post(reverse("django_thinkific:subscription-sync"))
    for response in (created, synced):
        assert response.status_code == 503, response.content[:300]
        detail = response.json()["detail"]
        assert "API_KEY" in detail
        assert "E014" in detail
        assert KEY.encode() not in response.content
    assert KEY not in caplog.text
    assert served.calls == []
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("debug", [False, True])
def test_admin_with_such_a_key_shows_the_reason_on_the_form(
    served, settings, admin_client, debug, caplog
):
    settings.DEBUG = debug
    admin_client.raise_request_exception = False
    with caplog.at_level(logging.DEBUG):
        added = admin_client.post(f"{SUBS}add/", {"topic": "order.created", "target_url": TARGET})
        synced = admin_client.post(f"{SUBS}sync/", follow=True)
    for response in (added, synced):
        assert response.status_code == 200
        html = response.content.decode()
        assert "E014" in html
        assert KEY not in html
    assert KEY not in caplog.text
    assert served.calls == []
    assert not Subscription.objects.exists()


def test_a_secret_that_cannot_be_encoded_is_a_401_not_a_500(client, thinkific):
    """A lone surrogate cannot be UTF-8 encoded for the HMAC: that key matches nothing,
    the other keys still work (E014 says why the first one never matches)."""
    thinkific(WEBHOOK_SECRETS=["whsec-\ud800-broken", "whsec-good"])
    raw = json.dumps(sample_event("order.created")).encode()
    for key, status in (("whsec-good", 200), ("whsec-other", 401)):
        response = client.post(
            "/thinkific/webhooks/",
            raw,
            content_type="application/json",
            HTTP_X_THINKIFIC_HMAC_SHA256=sign(raw, key),
        )
        assert response.status_code == status
    assert ReceivedEvent.objects.count() == 1
