"""How a site reacts to Thinkific events: plain functions connected by topic.

``SHOP_SLOW_RECEIVER_SECONDS`` (environment, seconds, may be fractional; unset
or ``0``: off) connects one more receiver, to ``webhook_received``, that makes
every event's receivers that much slower. It exists for the fault tests
(``tests/test_faults.py``): a process killed mid-handler, a slow handler with
``THINKIFIC_DISPATCH=celery``. Read once at start-up; when off nothing extra is
connected.

``SHOP_CRASH_TOPIC`` (environment, a topic; unset: off) connects a receiver
that ends its process at once (``os._exit``) for events of that topic: the
fault tests' stand-in for a segfault or an out-of-memory kill.
"""

import logging
import os
import time

from django_thinkific.signals import receiver_for, webhook_received

logger = logging.getLogger("example_project.shop")

SLOW_RECEIVER_SECONDS = float(os.environ.get("SHOP_SLOW_RECEIVER_SECONDS") or 0)
CRASH_TOPIC = os.environ.get("SHOP_CRASH_TOPIC", "")


def slow_down(sender, event, topic, payload, **kwargs):
    """Sleep ``SLOW_RECEIVER_SECONDS`` for every event (connected only when it is set)."""
    logger.info("slow receiver: sleeping %gs for event %s", SLOW_RECEIVER_SECONDS, event.event_id)
    time.sleep(SLOW_RECEIVER_SECONDS)
    logger.info("slow receiver: done with event %s", event.event_id)


if SLOW_RECEIVER_SECONDS > 0:
    webhook_received.connect(slow_down, dispatch_uid="example_project.shop.slow_down")


def crash(sender, event, topic, payload, **kwargs):
    """End the process mid-receiver, as a segfault would (connected only when asked)."""
    if topic == CRASH_TOPIC:
        logger.info("crashing receiver: ending pid %d for event %s", os.getpid(), event.event_id)
        os._exit(1)


if CRASH_TOPIC:
    webhook_received.connect(crash, dispatch_uid="example_project.shop.crash")


@receiver_for("enrollment.completed")
def congratulate(sender, event, topic, payload, **kwargs):
    user = payload.get("user") or {}
    course = payload.get("course") or {}
    logger.info(
        "%s %s completed %r (event %s)",
        user.get("first_name", "?"),
        user.get("last_name", ""),
        course.get("name", "?"),
        event.event_id,
    )


@receiver_for("order.created", "order_transaction.refunded")
def record_sale(sender, event, topic, payload, **kwargs):
    logger.info(
        "%s: order %s for %s cents (event %s)",
        topic,
        payload.get("order_number") or payload.get("order_id"),
        payload.get("amount_cents"),
        event.event_id,
    )
