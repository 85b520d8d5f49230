"""Each system check, through ``manage.py check`` as a user would see it, and values no
check may let through (a ``request.META`` key no request carries, a boolean given as the
string ``"False"``)."""

import logging
import re

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from django_thinkific.testing import post_event
from tests.helpers import app_check_ids

pytestmark = pytest.mark.django_db

VALID = {"API_KEY": "k", "API_BASE_URL": "https://api.thinkific.com/api/v2"}


def run_check():
    """The ids ``manage.py check`` reports for the current settings, and its text."""
    try:
        call_command("check", "--fail-level", "WARNING")
    except SystemCheckError as exc:
        return set(re.findall(r"django_thinkific\.[EW]\d{3}", str(exc))), str(exc)
    return set(), ""


def ids(settings, thinkific):
    settings.THINKIFIC = thinkific
    return run_check()[0]


def test_valid_settings_pass(settings):
    assert ids(settings, VALID) == set()


def test_missing_api_key_is_e001(settings):
    found = ids(settings, {"APP_CLIENT_SECRET": "s"})
    assert found == {"django_thinkific.E001"}


def test_receive_only_site_may_omit_api_key(settings):
    assert ids(settings, {"API_ENABLED": False, "WEBHOOK_SECRETS": ["s"]}) == set()


@pytest.mark.parametrize(
    "conf",
    [
        {"API_ENABLED": False},
        {"API_ENABLED": False, "WEBHOOK_SECRETS": []},
        {"API_ENABLED": False, "WEBHOOK_SECRETS": ["", "  "]},
        {"API_KEY": "k", "WEBHOOK_SECRETS": []},  # explicit empty list overrides the default
        {"API_KEY": "k", "WEBHOOK_SECRETS": [1, 2]},
        {"API_KEY": "k", "WEBHOOK_SECRETS": 42},
    ],
)
def test_empty_or_malformed_secret_list_is_e002(settings, conf):
    assert "django_thinkific.E002" in ids(settings, conf)


@pytest.mark.parametrize("days", [0, -1, "30", 1.5, True, None])
def test_retention_not_positive_int_is_e003(settings, days):
    assert ids(settings, {**VALID, "EVENT_RETENTION_DAYS": days}) == {"django_thinkific.E003"}


def test_unknown_dispatch_is_e004(settings):
    found = ids(settings, {**VALID, "DISPATCH": "rq"})
    assert found == {"django_thinkific.E004"}


@pytest.mark.parametrize(
    "url",
    [
        "http://api.thinkific.com/api/v2",
        "http://10.0.0.5:8000/api/v2",
        "ftp://api.thinkific.com",
        "not a url",
        "",
        "https://",
    ],
)
def test_bad_api_base_url_is_e005(settings, url):
    assert ids(settings, {**VALID, "API_BASE_URL": url}) == {"django_thinkific.E005"}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8001/api/v2",
        "http://localhost:8001/api/v2",
        "http://[::1]:8001/api/v2",
        "https://api.thinkific.com/api/v2",
    ],
)
def test_loopback_may_use_plain_http(settings, url):
    assert ids(settings, {**VALID, "API_BASE_URL": url}) == set()


@pytest.mark.parametrize(
    ("key", "check_id"),
    [("MAX_BODY_SIZE", "E006"), ("PROCESSING_TIMEOUT", "E007"), ("PRUNE_BATCH_SIZE", "E010")],
)
def test_other_sizes_must_be_positive(settings, key, check_id):
    assert ids(settings, {**VALID, key: 0}) == {f"django_thinkific.{check_id}"}


def test_thinkific_not_a_dict_is_e000(settings):
    assert ids(settings, ["API_KEY", "k"]) == {"django_thinkific.E000"}


def test_unknown_key_warns_w001_with_known_keys(settings):
    settings.THINKIFIC = {**VALID, "WEBHOOK_SECRET": "typo"}
    found, text = run_check()
    assert found == {"django_thinkific.W001"}
    assert "'WEBHOOK_SECRET'" in text
    assert "WEBHOOK_SECRETS" in text


def test_messages_never_show_secrets(settings):
    settings.THINKIFIC = {
        "API_KEY": "sk-very-secret",
        "APP_CLIENT_SECRET": "cs-very-secret",
        "API_BASE_URL": "http://evil.example.com",
        "DISPATCH": "nope",
        "EVENT_RETENTION_DAYS": 0,
    }
    _, text = run_check()
    assert "E005" in text
    assert "very-secret" not in text


@pytest.mark.parametrize(
    "classes",
    [["rest_framework.permissions.NoSuchThing"], ["nope.nope"], "not.a.module.Class", [42]],
)
def test_rest_permission_classes_must_import_e009(settings, classes):
    assert ids(settings, {**VALID, "REST_PERMISSION_CLASSES": classes}) == {"django_thinkific.E009"}


def test_rest_permission_classes_valid(settings):
    classes = [
        "rest_framework.permissions.IsAuthenticated",
        "rest_framework.permissions.IsAdminUser",
    ]
    assert ids(settings, {**VALID, "REST_PERMISSION_CLASSES": classes}) == set()


def test_api_timeout_must_be_positive_number_e008(settings):
    assert ids(settings, {**VALID, "API_TIMEOUT": "10"}) == {"django_thinkific.E008"}


def test_insecure_targets_without_debug_warns_w002(settings):
    settings.DEBUG = False
    assert ids(settings, {**VALID, "ALLOW_INSECURE_TARGETS": True}) == {"django_thinkific.W002"}


@pytest.mark.parametrize("header", ["X-Forwarded-For", 42, ""])
def test_client_ip_header_must_be_a_meta_key_e011(settings, header):
    assert ids(settings, {**VALID, "CLIENT_IP_HEADER": header}) == {"django_thinkific.E011"}


def _tagged(*tags):
    try:
        call_command("check", *(f"--tag={t}" for t in tags), "--fail-level", "WARNING")
    except SystemCheckError as exc:
        return re.findall(r"django_thinkific\.[EW]\d{3}", str(exc))
    return []


def test_checks_run_under_the_apps_tag_and_security_ones_under_security_too(settings):
    settings.DEBUG = False
    settings.THINKIFIC = {
        **VALID,
        "API_BASE_URL": "http://api.example.com/",  # E005: the key over plain http
        "ALLOW_INSECURE_TARGETS": True,  # W002 with DEBUG off
        "REST_PERMISSION_CLASSES": [],  # E009: would open the API
        "EVENT_RETENTION_DAYS": 0,  # E003: not a security matter
    }
    everything = _tagged()
    assert sorted(everything) == sorted(set(everything))  # each once without a tag
    assert set(everything) == {
        "django_thinkific.E003",
        "django_thinkific.E005",
        "django_thinkific.E009",
        "django_thinkific.W002",
    }
    assert set(_tagged("django_thinkific")) == set(everything)
    assert set(_tagged("security")) == {
        "django_thinkific.E005",
        "django_thinkific.E009",
        "django_thinkific.W002",
    }


# --- values a check used to let through: request.META keys, booleans as strings -----------


@pytest.mark.parametrize(
    "header",
    [
        "HTTP_X_FORWARDED_FOR\u200b",
        "\ufeffHTTP_X_FORWARDED_FOR",
        "HTTP_X-FORWARDED-FOR",
        "HTTP X FORWARDED FOR",
    ],
    ids=["zwsp", "bom", "dashes", "spaces"],
)
def test_a_client_ip_header_that_no_request_can_carry_is_e011(thinkific, header):
    thinkific(CLIENT_IP_HEADER=header)
    assert "django_thinkific.E011" in app_check_ids()


def test_a_header_key_with_a_zero_width_space_is_reported_and_not_trusted(
    thinkific, client, caplog
):
    thinkific(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR\u200b")
    assert "django_thinkific.E011" in app_check_ids()  # the operator is told
    # meanwhile no header is trusted
    with caplog.at_level(logging.WARNING, logger="django_thinkific.webhooks"):
        post_event(client, "order.created", secret="wrong", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert "from 127.0.0.1" in caplog.text
    assert "203.0.113.9" not in caplog.text


@pytest.mark.parametrize("key", ["API_ENABLED", "ALLOW_INSECURE_TARGETS"])
def test_a_boolean_setting_given_as_the_string_false_is_reported(thinkific, settings, key):
    # From an environment variable: "False" is truthy, so API_ENABLED stays on and
    # ALLOW_INSECURE_TARGETS is *enabled*. With DEBUG on nothing at all is reported.
    settings.DEBUG = True
    thinkific(**{key: "False"})
    assert "django_thinkific.E016" in app_check_ids()
    from django_thinkific.conf import get_settings

    assert get_settings().allow_insecure_targets is False  # "False" never turns it on


# --- keys that are not text ----------------------------------------------------------------


@pytest.mark.parametrize("key", ["API_KEY", "APP_CLIENT_SECRET"])
@pytest.mark.parametrize("value", [12345, b"test-api-key", ["k"]], ids=["int", "bytes", "list"])
def test_a_key_that_is_not_text_is_reported(settings, key, value):
    """README: "`manage.py check` reports any THINKIFIC setting that is missing or
    malformed". A key given as a number (from a YAML or JSON config) or as bytes is
    dropped (no signature can match it, no API call is made with it); on a site that
    also has the other key, and for APP_CLIENT_SECRET always, nothing said so."""
    conf = {"API_KEY": "k", "APP_CLIENT_SECRET": "s", key: value}
    found = ids(settings, conf)
    assert "django_thinkific.E017" in found
    _, text = run_check()
    assert str(value) not in text.replace(key, "")  # the value is never shown


def test_every_key_of_the_settings_table_has_a_check():
    from django_thinkific.conf import SETTINGS

    assert {name for name, key in SETTINGS.items() if not key.check_id} == set()


@pytest.mark.parametrize("secrets", [{"s1", "s2"}, frozenset({"s1"})], ids=["set", "frozenset"])
def test_a_set_of_secrets_is_accepted_as_conf_reads_it(settings, client, secrets):
    """The check and the reader judge from one rule: a set the receiver uses is no E002."""
    settings.THINKIFIC = {"API_ENABLED": False, "WEBHOOK_SECRETS": secrets}
    assert app_check_ids() == set()
    assert post_event(client, "order.created", secret="s1").status_code == 200


@pytest.mark.parametrize("timeout", [1e-300, 0.0001, 0.09])
def test_an_api_timeout_no_call_could_finish_in_is_e008(settings, timeout):
    assert ids(settings, {**VALID, "API_TIMEOUT": timeout}) == {"django_thinkific.E008"}


def test_the_smallest_usable_api_timeout_is_accepted(settings):
    assert ids(settings, {**VALID, "API_TIMEOUT": 0.1}) == set()
