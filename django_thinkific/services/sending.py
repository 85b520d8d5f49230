"""Sending a test event to a subscription's target URL, as Thinkific's UI does.

Only ever to the stored subscription's own URL, which must pass Thinkific's
target rules (https, a real host) unless ``ALLOW_INSECURE_TARGETS`` is on for
local development, and only to an address :mod:`django_thinkific.sender`
checked (public, or loopback with that setting). Redirects are not followed and
the target's answer body is never read back into a page: only the status code
is reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .. import sender
from ..client import USER_AGENT
from ..conf import get_settings
from ..errors import APIDisabled, ValidationFailed
from ..models import Subscription
from ..samples import SAMPLE_SITE, sample_event
from ..signing import compute_signature
from ..topics import TOPICS, split_topic
from ..validation import target_url_error

#: Thinkific waits this long for an answer; so does the test.
TIMEOUT = 5.0
#: Why a topic has no test event (a delivery's topic is always ``resource.action``).
NOT_A_TOPIC = "is not of the form resource.action, so no test event can be made for it"


@dataclass(frozen=True)
class SentTestEvent:
    """What became of one test event: the target's status code, or why it was not sent."""

    event_id: str
    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def describe(self) -> str:
        if self.status_code is not None:
            return _("The target answered HTTP %(status)d.") % {"status": self.status_code}
        return _("The test event was not delivered: %(error)s.") % {"error": self.error}


def send_test_event(subscription: Subscription) -> SentTestEvent:
    """POST a signed sample event for the subscription's topic to its target URL."""
    conf = get_settings()
    message = target_url_error(subscription.target_url, allow_insecure=conf.allow_insecure_targets)
    if message:
        raise ValidationFailed({"target_url": [message]}, status=None)
    if not conf.webhook_secrets:
        raise APIDisabled("No webhook secret is configured to sign the test event with")
    topic = subscription.topic
    try:
        split_topic(topic)
    except ValueError:
        # Thinkific's list may hold such a webhook; no delivery could name its topic.
        raise ValidationFailed({"topic": [NOT_A_TOPIC]}, status=None) from None
    event = sample_event(topic) if topic in TOPICS else sample_event(topic, payload={})
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Thinkific-Topic": topic,
        "X-Thinkific-Subdomain": SAMPLE_SITE,
        "X-Thinkific-Hmac-Sha256": compute_signature(body, conf.webhook_secrets[0]),
    }
    answer = sender.post(
        subscription.target_url,
        body,
        headers,
        timeout=TIMEOUT,
        allow_loopback=conf.allow_insecure_targets,
    )
    return SentTestEvent(event["id"], status_code=answer.status_code, error=answer.error)
