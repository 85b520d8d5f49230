"""Receivers that misbehave on purpose, for the real stack, chosen per topic by FAULT_RECEIVERS
("order.created=oncommit,lesson.completed=custombase,...")."""

import asyncio
import logging
import os
import time

from django.db import transaction

from django_thinkific.signals import webhook_received

logger = logging.getLogger("example_project.fault_receivers")

BEHAVIOUR = dict(
    item.split("=", 1) for item in os.environ.get("FAULT_RECEIVERS", "").split(",") if "=" in item
)
SLEEP = float(os.environ.get("FAULT_RECEIVERS_SLEEP", "0") or 0)


class Custom(BaseException):
    """A receiver's own BaseException that is not an Exception."""


def mail_server_down():
    logger.info("fault receiver: on_commit callback ran for %s", _current[0])
    raise ConnectionRefusedError("mail server down")


_current = [""]


def react(sender, event, topic, payload, **kwargs):
    what = BEHAVIOUR.get(topic)
    if not what:
        return
    logger.info(
        "fault receiver: %s receiver ran for %s attempt %s pid %s",
        what,
        event.event_id,
        event.attempts,
        os.getpid(),
    )
    if SLEEP:
        time.sleep(SLEEP)
    if what == "oncommit":
        _current[0] = event.event_id
        transaction.on_commit(mail_server_down)
    elif what == "custombase":
        raise Custom("custom base exception")
    elif what == "cancelled":
        raise asyncio.CancelledError()
    elif what == "generatorexit":
        raise GeneratorExit()
    elif what == "systemexit":
        raise SystemExit(3)
    elif what == "keyboard":
        raise KeyboardInterrupt()
    elif what == "nul":
        raise RuntimeError("CRM refused the order: \x00 binary answer")
    elif what == "fail":
        raise RuntimeError("plain failure")


webhook_received.connect(react, dispatch_uid="fault_receivers.react")
