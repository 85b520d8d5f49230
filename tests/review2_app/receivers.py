"""Review 2 receivers for the real stack, chosen per topic by REVIEW2_BEHAVIOUR
("order.created=oncommit,lesson.completed=custombase,...")."""

import asyncio
import logging
import os
import time

from django.db import transaction

from django_thinkific.signals import webhook_received

logger = logging.getLogger("example_project.review2")

BEHAVIOUR = dict(
    item.split("=", 1) for item in os.environ.get("REVIEW2_BEHAVIOUR", "").split(",") if "=" in item
)
SLEEP = float(os.environ.get("REVIEW2_SLEEP", "0") or 0)


class Custom(BaseException):
    pass


def mail_server_down():
    logger.info("review2: on_commit callback ran for %s", _current[0])
    raise ConnectionRefusedError("mail server down")


_current = [""]


def react(sender, event, topic, payload, **kwargs):
    what = BEHAVIOUR.get(topic)
    if not what:
        return
    logger.info(
        "review2: %s receiver ran for %s attempt %s pid %s",
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


webhook_received.connect(react, dispatch_uid="review2.react")
