"""How a site reacts to Thinkific events: plain functions connected by topic."""

import logging

from django_thinkific.signals import receiver_for

logger = logging.getLogger("example_project.shop")


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
