"""From a signed delivery to a stored event whose receivers ran (or are queued).

The order is the guarantee: verify the signature over the raw bytes, validate
the envelope, *store and commit* the event (the unique ``event_id`` makes a
retry or a racing twin land on the existing row), and only then dispatch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import DatabaseError, DataError, IntegrityError, router, transaction
from django.utils import timezone

from ..conf import get_settings
from ..models import ReceivedEvent
from ..signing import signature_matches
from . import processing
from .envelope import Envelope, EnvelopeError, parse_envelope

logger = logging.getLogger("django_thinkific.receiving")


class SignatureError(Exception):
    """The delivery is unsigned or signed with no key we accept."""


class StorageUnavailable(Exception):
    """The database could not store the event; the sender should retry."""


@dataclass(frozen=True)
class Receipt:
    event: ReceivedEvent
    created: bool


def verify_signature(body: bytes, signature: str | None, secrets: Iterable[str]) -> None:
    """Raise :class:`SignatureError` unless ``signature`` matches one of ``secrets``."""
    if not signature_matches(body, signature, secrets):
        raise SignatureError("wrong" if signature else "missing")


def store(envelope: Envelope, *, site: str, header_topic: str, claim: bool) -> Receipt:
    """Insert the event, or find the row an earlier delivery stored.

    Relies on the unique constraint, not a read-then-write: of two racing
    inserts exactly one succeeds, and the other reads the winner's row.
    With ``claim`` the new row is born claimed for processing by this process.
    """
    now = timezone.now()
    event = ReceivedEvent(
        event_id=envelope.event_id,
        topic=envelope.topic,
        resource=envelope.resource,
        action=envelope.action,
        tenant_id=envelope.tenant_id,
        site=site[:255],
        header_topic=header_topic[:100],
        payload=envelope.payload,
        thinkific_created_at=envelope.created_at,
        received_at=now,
        attempts=1 if claim else 0,
        last_attempt_at=now if claim else None,
    )
    db = router.db_for_write(ReceivedEvent)
    try:
        with transaction.atomic(using=db):
            event.save(force_insert=True, using=db)
        return Receipt(event, created=True)
    except IntegrityError:
        pass  # stored by an earlier delivery: fall through and read it
    except DataError as exc:
        raise EnvelopeError("the event contains data the database cannot store") from exc
    except DatabaseError as exc:
        raise StorageUnavailable(str(exc)) from exc
    try:
        existing = ReceivedEvent.objects.using(db).get(event_id=envelope.event_id)
    except (DatabaseError, ReceivedEvent.DoesNotExist) as exc:
        raise StorageUnavailable(str(exc)) from exc
    return Receipt(existing, created=False)


def receive(
    body: bytes, *, signature: str | None, site: str = "", header_topic: str = ""
) -> Receipt:
    """Verify, store and dispatch one delivery.

    Raises :class:`SignatureError` (401), :class:`EnvelopeError` (400) or
    :class:`StorageUnavailable` (503); anything a receiver raises is recorded
    on the event instead.
    """
    conf = get_settings()
    verify_signature(body, signature, conf.webhook_secrets)
    envelope = parse_envelope(body)
    sync = conf.dispatch != "celery"
    receipt = store(envelope, site=site, header_topic=header_topic, claim=sync)
    try:
        dispatch(receipt, sync=sync)
    except DatabaseError as exc:
        # Stored, but its outcome could not be recorded: ask for a retry,
        # which will find the row and finish the job.
        raise StorageUnavailable(str(exc)) from exc
    return receipt


def dispatch(receipt: Receipt, *, sync: bool) -> None:
    event = receipt.event
    if sync:
        if receipt.created:
            processing.run_claimed(event)  # born claimed by store()
        elif processing.needs_processing(event):
            processing.process(event)
        return
    if receipt.created or processing.needs_processing(event):
        pk = event.pk
        db = router.db_for_write(ReceivedEvent)
        transaction.on_commit(lambda: enqueue(pk), using=db)


def enqueue(pk: int) -> bool:
    """Queue ``process_event`` for an event; a broker outage leaves it pending.

    The event is already committed, so nothing is lost: a redelivery or
    a later sweep enqueues it again.
    """
    from ..tasks import process_event

    try:
        process_event.delay(pk)
    except Exception:  # any broker/transport error: keep answering 200
        logger.warning("Could not queue Thinkific event pk=%s; it stays pending", pk, exc_info=True)
        return False
    return True
