"""Subscriptions: the site's Thinkific webhooks, changed remotely first, then here.

Every change goes to Thinkific before the database, so a refusal (422, 401,
network down) raises a typed :mod:`~django_thinkific.errors` exception and
changes nothing locally. Deleting a webhook Thinkific no longer has (404)
counts as success.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from django.db import router, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..client import DEFAULT_PAGE_SIZE, Page, ThinkificClient
from ..conf import get_settings
from ..errors import APIDisabled, NotFound, ValidationFailed
from ..models import Subscription
from ..topics import TOPICS
from ..validation import target_url_error

logger = logging.getLogger("django_thinkific.subscriptions")

BATCH_SIZE = 500
SYNCED_FIELDS = (
    "topic",
    "target_url",
    "status",
    "remote_created_at",
    "remote_updated_at",
    "created_by",
    "updated_by",
)


@lru_cache(maxsize=4)
def _client_for(api_key: str, base_url: str, timeout: float) -> ThinkificClient:
    return ThinkificClient(api_key=api_key, base_url=base_url, timeout=timeout)


def get_client() -> ThinkificClient:
    """The client for the current settings; one keep-alive session per configuration."""
    conf = get_settings()
    if not conf.api_enabled:
        raise APIDisabled("The Thinkific API is disabled (THINKIFIC['API_ENABLED'] = False)")
    if not conf.api_key:
        raise APIDisabled("THINKIFIC['API_KEY'] is not set, so the Thinkific API cannot be used")
    return _client_for(conf.api_key, conf.api_base_url, conf.api_timeout)


def validate(topic: Any, target_url: Any) -> None:
    """Refuse locally what Thinkific would refuse, with the same messages."""
    errors: dict[str, list[str]] = {}
    if topic not in TOPICS:
        errors["topic"] = ["invalid format"]
    message = target_url_error(target_url, allow_insecure=get_settings().allow_insecure_targets)
    if message:
        errors["target_url"] = [message]
    if errors:
        raise ValidationFailed(errors, status=None)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.utc)
    return parsed


def _fields(remote: dict[str, Any]) -> dict[str, Any]:
    """Model fields from a webhook object of the API."""

    def text(key: str, limit: int) -> str:
        value = remote.get(key)
        return "" if value is None else str(value)[:limit]

    return {
        "topic": text("topic", 100),
        "target_url": text("target_url", 2000),
        "status": text("status", 32) or Subscription.Status.ACTIVE,
        "remote_created_at": _parse_time(remote.get("created_at")),
        "remote_updated_at": _parse_time(remote.get("updated_at")),
        "created_by": text("created_by", 64),
        "updated_by": text("updated_by", 64),
    }


def create(topic: str, target_url: str, *, client: ThinkificClient | None = None) -> Subscription:
    validate(topic, target_url)
    remote = (client or get_client()).create_webhook(topic=topic, target_url=target_url)
    subscription, _ = Subscription.objects.update_or_create(
        thinkific_id=str(remote["id"]),
        defaults={**_fields(remote), "last_synced_at": timezone.now()},
    )
    return subscription


def update(
    subscription: Subscription,
    *,
    topic: str,
    target_url: str,
    client: ThinkificClient | None = None,
) -> Subscription:
    validate(topic, target_url)
    remote = (client or get_client()).update_webhook(
        subscription.thinkific_id, topic=topic, target_url=target_url
    )
    for field, value in _fields(remote).items():
        setattr(subscription, field, value)
    subscription.last_synced_at = timezone.now()
    subscription.save()
    return subscription


def delete(subscription: Subscription, *, client: ThinkificClient | None = None) -> bool:
    """Delete remotely, then here. ``False`` when Thinkific had already deleted it."""
    try:
        (client or get_client()).delete_webhook(subscription.thinkific_id)
        existed = True
    except NotFound:
        existed = False
    subscription.delete()
    return existed


@dataclass(frozen=True)
class SyncReport:
    created: int
    updated: int
    removed: int
    unchanged: int
    pages: int

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


def sync(
    *,
    client: ThinkificClient | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    on_page: Callable[[Page], None] | None = None,
) -> SyncReport:
    """Make the ``Subscription`` table mirror Thinkific's webhooks.

    Every page is read before anything is written, so an error anywhere in
    the listing raises and changes nothing (a half-read list never deletes
    rows). The writes are bulk, in one transaction: a constant number of
    queries per 500 webhooks. Running twice at once is safe: creation is an
    upsert on ``thinkific_id``, and rows added here after the listing began
    are never removed by it.
    """
    started = timezone.now()
    api = client or get_client()
    remote: dict[str, dict[str, Any]] = {}
    pages = 0
    for page in api.pages(limit=page_size):
        pages += 1
        for item in page.items:
            if isinstance(item, dict) and item.get("id") not in (None, ""):
                remote[str(item["id"])] = _fields(item)
        if on_page:
            on_page(page)

    db = router.db_for_write(Subscription)
    now = timezone.now()
    with transaction.atomic(using=db):
        local = {
            row["thinkific_id"]: row
            for row in Subscription.objects.using(db).values("pk", "thinkific_id", *SYNCED_FIELDS)
        }
        created = [tid for tid in remote if tid not in local]
        changed = [
            tid
            for tid, fields in remote.items()
            if tid in local and any(local[tid][f] != fields[f] for f in SYNCED_FIELDS)
        ]
        gone = [row["pk"] for tid, row in local.items() if tid not in remote]
        # New and changed rows in one upsert (INSERT ... ON CONFLICT DO UPDATE): a
        # row a concurrent sync inserted meanwhile is updated, not a conflict.
        if created or changed:
            Subscription.objects.using(db).bulk_create(
                [
                    Subscription(
                        thinkific_id=tid, last_synced_at=now, updated_at=now, **remote[tid]
                    )
                    for tid in (*created, *changed)
                ],
                batch_size=BATCH_SIZE,
                update_conflicts=True,
                unique_fields=["thinkific_id"],
                update_fields=[*SYNCED_FIELDS, "last_synced_at", "updated_at"],
            )
        removed = 0
        for start in range(0, len(gone), BATCH_SIZE):
            removed += (
                Subscription.objects.using(db)
                .filter(pk__in=gone[start : start + BATCH_SIZE], created_at__lt=started)
                .delete()[0]
            )
        # Every older row still here is one Thinkific listed: all of them are in step now.
        Subscription.objects.using(db).filter(created_at__lt=started).update(last_synced_at=now)

    report = SyncReport(
        created=len(created),
        updated=len(changed),
        removed=removed,
        unchanged=len(remote) - len(created) - len(changed),
        pages=pages,
    )
    logger.info(
        "Synced %d Thinkific webhooks: %d created, %d updated, %d removed",
        report.total,
        report.created,
        report.updated,
        report.removed,
    )
    return report
