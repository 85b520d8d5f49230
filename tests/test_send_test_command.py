"""``manage.py thinkific_send_test SUBSCRIPTION``, as CONTRACT.md names it."""

import io
import json

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from django_thinkific.testing import sign
from tests.factories import SubscriptionFactory
from tests.settings import API_KEY

pytestmark = pytest.mark.django_db
URL = "https://shop.acme.io/thinkific/webhooks/"


@pytest.mark.parametrize("key", ["pk", "thinkific_id"])
def test_sends_a_signed_sample_and_reports_the_status(fake_api, key):
    sub = SubscriptionFactory(topic="enrollment.completed", target_url=URL)
    fake_api.responses.add("POST", URL, status=200)
    out = io.StringIO()
    call_command("thinkific_send_test", str(getattr(sub, key)), stdout=out)
    assert out.getvalue() == f"enrollment.completed -> {URL}: The target answered HTTP 200.\n"
    request = fake_api.responses.calls[-1].request
    assert request.headers["X-Thinkific-Hmac-Sha256"] == sign(request.body, API_KEY)
    assert json.loads(request.body)["action"] == "completed"


def test_a_refusing_target_is_a_one_line_error(fake_api):
    sub = SubscriptionFactory(topic="order.created", target_url=URL)
    fake_api.responses.add("POST", URL, status=401)
    with pytest.raises(
        CommandError, match=r"^order.created -> .*: The target answered HTTP 401\.$"
    ):
        call_command("thinkific_send_test", str(sub.pk))


def test_an_unreachable_target(fake_api):
    sub = SubscriptionFactory(target_url=URL)
    fake_api.responses.add("POST", URL, body=requests.ConnectionError("refused"))
    with pytest.raises(CommandError, match="could not be reached"):
        call_command("thinkific_send_test", str(sub.pk))


def test_an_unknown_subscription():
    with pytest.raises(
        CommandError, match=r"No subscription with primary key or Thinkific id '999'"
    ):
        call_command("thinkific_send_test", "999")


def test_a_target_thinkific_would_refuse_is_not_contacted(fake_api):
    sub = SubscriptionFactory(target_url="http://shop.acme.io/hook")
    with pytest.raises(CommandError, match="target url is not valid"):
        call_command("thinkific_send_test", str(sub.pk))
    assert len(fake_api.responses.calls) == 0
