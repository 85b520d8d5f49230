"""Review 1: system checks that let malformed values through.

README: "system checks for every setting"; "`django_thinkific.E011` | `CLIENT_IP_HEADER`
is not a `request.META` key". E011 only asks for ``str.isupper()``, which a pasted
zero-width space, a dash or a space does not change: such a key can never be a header's
``request.META`` key, and the configured proxy header is then silently never used.
"""

import logging

import pytest
from django.core import checks

from django_thinkific.testing import post_event

pytestmark = pytest.mark.django_db


def _ids():
    return {m.id for m in checks.run_checks() if m.id.startswith("django_thinkific.")}


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
    assert "django_thinkific.E011" in _ids()


def test_a_header_key_with_a_zero_width_space_is_reported_and_not_trusted(
    thinkific, client, caplog
):
    thinkific(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR\u200b")
    assert "django_thinkific.E011" in _ids()  # the operator is told; meanwhile no header is
    with caplog.at_level(logging.WARNING, logger="django_thinkific.webhooks"):  # trusted
        post_event(client, "order.created", secret="wrong", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert "from 127.0.0.1" in caplog.text
    assert "203.0.113.9" not in caplog.text


@pytest.mark.parametrize("key", ["API_ENABLED", "ALLOW_INSECURE_TARGETS"])
def test_a_boolean_setting_given_as_the_string_false_is_reported(thinkific, settings, key):
    # From an environment variable: "False" is truthy, so API_ENABLED stays on and
    # ALLOW_INSECURE_TARGETS is *enabled*. With DEBUG on nothing at all is reported.
    settings.DEBUG = True
    thinkific(**{key: "False"})
    assert "django_thinkific.E016" in _ids()
    from django_thinkific.conf import get_settings

    assert get_settings().allow_insecure_targets is False  # "False" never turns it on
