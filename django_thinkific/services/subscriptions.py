"""Subscriptions: the site's Thinkific webhooks, checked here, changed remotely, then here.

Every change first passes every local rule (:func:`validate`: the one rule
the admin, the REST API and this module share), then goes to Thinkific, then
to the database, so a refusal (422, 401, network down) raises a typed
:mod:`~django_thinkific.errors` exception and changes nothing locally.
``create_remote`` / ``update_remote`` and ``store`` are the two halves, for a
form that calls Thinkific while validating and writes the row in ``save()``.
Deleting a webhook Thinkific no longer has (404) counts as success.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..client import DEFAULT_PAGE_SIZE, Page, ThinkificClient
from ..conf import get_settings
from ..errors import APIDisabled, BadResponse, RecordNotFound, UnusableWebhook, ValidationFailed
from ..models import DeletedWebhook, Subscription, max_length
from ..timestamps import parse_timestamp
from ..topics import TOPICS
from ..validation import webhook_url_error
from .sync_plan import SYNCED_FIELDS, Listing, SyncPlan, deleted_since, plan_sync

logger = logging.getLogger("django_thinkific.subscriptions")

BATCH_SIZE = 500
#: How long a deletion's tombstone is kept: far longer than any sync runs.
TOMBSTONE_DAYS = 1


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
    if conf.api_base_url_problem:
        raise APIDisabled(
            "THINKIFIC['API_BASE_URL'] is not a usable https URL, so nothing was sent to it; "
            "manage.py check reports it as django_thinkific.E005"
        )
    return _client_for(conf.api_key, conf.api_base_url, conf.api_timeout)


def validate(topic: Any, target_url: Any) -> None:
    """Every local rule for a webhook, with Thinkific's messages; the one rule for all callers.

    The admin form, the REST API and :func:`create` / :func:`update` all call
    this before anything goes to Thinkific: the topic must be one Thinkific
    accepts, the URL must pass the model field's validators and Thinkific's
    target rules (:func:`~django_thinkific.validation.webhook_url_error`).
    """
    errors: dict[str, list[str]] = {}
    if topic not in TOPICS:
        errors["topic"] = ["invalid format"]
    message = webhook_url_error(target_url, allow_insecure=get_settings().allow_insecure_targets)
    if message:
        errors["target_url"] = [message]
    if errors:
        raise ValidationFailed(errors, status=None)


def _text(item: dict[str, Any], key: str, *, required: bool) -> str:
    """A text field of a webhook object: as sent, or refused (never cut, never emptied)."""
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # created_by is a number in Thinkific's schema
    if value is None or value == "":
        if required:
            raise UnusableWebhook(f"it has no {key.replace('_', ' ')}")
        return ""
    if not isinstance(value, str):
        raise UnusableWebhook(f"its {key.replace('_', ' ')} is not a string")
    if "\x00" in value:
        raise UnusableWebhook(f"its {key.replace('_', ' ')} holds a NUL character")
    limit = max_length(Subscription, key if key != "id" else "thinkific_id")
    if len(value) > limit:
        raise UnusableWebhook(f"its {key.replace('_', ' ')} is longer than {limit} characters")
    return value


def webhook_fields(item: Any) -> tuple[str, dict[str, Any]]:
    """``(thinkific_id, model fields)`` of one webhook object from Thinkific.

    Raises :class:`UnusableWebhook` for an item that cannot be stored as it is
    (no id, topic or URL; a value longer than its column; a NUL). Timestamps
    that are not usable (see :mod:`django_thinkific.timestamps`) are kept as
    no timestamp; the webhook itself is kept.
    """
    if not isinstance(item, dict):
        raise UnusableWebhook("it is not an object")
    webhook_id = _text(item, "id", required=True)
    fields = {
        "topic": _text(item, "topic", required=True),
        "target_url": _text(item, "target_url", required=True),
        "status": _text(item, "status", required=False) or Subscription.Status.ACTIVE,
        "remote_created_at": parse_timestamp(item.get("created_at")),
        "remote_updated_at": parse_timestamp(item.get("updated_at")),
        "created_by": _text(item, "created_by", required=False),
        "updated_by": _text(item, "updated_by", required=False),
    }
    return webhook_id, fields


def create_remote(
    topic: str, target_url: str, *, client: ThinkificClient | None = None
) -> dict[str, Any]:
    """Validate, then create the webhook at Thinkific; its answer. Writes nothing here."""
    validate(topic, target_url)
    remote = (client or get_client()).create_webhook(topic=topic, target_url=target_url)
    return _answer({"topic": topic, "target_url": target_url, **_present(remote)})


def update_remote(
    subscription: Subscription,
    *,
    topic: str,
    target_url: str,
    client: ThinkificClient | None = None,
) -> dict[str, Any]:
    """Validate, then change the webhook at Thinkific; its answer. Writes nothing here."""
    validate(topic, target_url)
    remote = (client or get_client()).update_webhook(
        subscription.thinkific_id, topic=topic, target_url=target_url
    )
    return _answer({"topic": topic, "target_url": target_url, **_present(remote)})


def _answer(remote: dict[str, Any]) -> dict[str, Any]:
    try:
        webhook_fields(remote)
    except UnusableWebhook as exc:
        raise BadResponse(f"Thinkific's answer cannot be stored: {exc}") from None
    return remote


def _present(remote: dict[str, Any]) -> dict[str, Any]:
    """The keys of an answer that carry a value (a missing topic keeps the one sent)."""
    return {k: v for k, v in remote.items() if v not in (None, "")}


def store(remote: dict[str, Any], subscription: Subscription | None = None) -> Subscription:
    """Write what Thinkific answered to a create (``subscription=None``) or an update."""
    webhook_id, fields = webhook_fields(remote)
    fields["last_synced_at"] = timezone.now()
    if subscription is None:
        subscription, _ = Subscription.objects.update_or_create(
            thinkific_id=webhook_id, defaults=fields
        )
        return subscription
    for field, value in fields.items():
        setattr(subscription, field, value)
    subscription.save()
    return subscription


def create(topic: str, target_url: str, *, client: ThinkificClient | None = None) -> Subscription:
    """Create at Thinkific (after every local rule passed), then here."""
    return store(create_remote(topic, target_url, client=client))


def update(
    subscription: Subscription,
    *,
    topic: str,
    target_url: str,
    client: ThinkificClient | None = None,
) -> Subscription:
    """Change at Thinkific (after every local rule passed), then here."""
    remote = update_remote(subscription, topic=topic, target_url=target_url, client=client)
    return store(remote, subscription)


def delete(subscription: Subscription, *, client: ThinkificClient | None = None) -> bool:
    """Delete remotely, then here. ``False`` when Thinkific had already deleted it.

    The row goes with a tombstone (``DeletedWebhook``), in one transaction, so a
    sync that read Thinkific's list before the deletion does not bring it back.
    """
    try:
        (client or get_client()).delete_webhook(subscription.thinkific_id)
        existed = True
    except RecordNotFound:
        existed = False
    db = router.db_for_write(Subscription)
    with transaction.atomic(using=db):
        DeletedWebhook.objects.using(db).bulk_create(
            [DeletedWebhook(thinkific_id=subscription.thinkific_id, deleted_at=timezone.now())],
            update_conflicts=True,
            unique_fields=["thinkific_id"],
            update_fields=["deleted_at"],
        )
        subscription.delete(using=db)
    return existed


@dataclass(frozen=True)
class SyncReport:
    created: int
    updated: int
    removed: int
    unchanged: int
    pages: int
    #: One line per item of Thinkific's answer that was not stored, saying why.
    skipped: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        """The one sentence the command, the admin and the log all say about a sync."""
        webhooks = ngettext("%(n)d webhook", "%(n)d webhooks", self.total) % {"n": self.total}
        pages = ngettext("%(n)d page", "%(n)d pages", self.pages) % {"n": self.pages}
        skipped = _(", %(n)d skipped") % {"n": len(self.skipped)} if self.skipped else ""
        return _(
            "Synced %(webhooks)s from Thinkific in %(pages)s: %(created)d created, "
            "%(updated)d updated, %(removed)d removed%(skipped)s."
        ) % {
            "webhooks": webhooks,
            "pages": pages,
            "created": self.created,
            "updated": self.updated,
            "removed": self.removed,
            "skipped": skipped,
        }


def _usable_id(item: Any) -> str | None:
    """The id of an item, when it is one a row could have (whatever else is wrong with it)."""
    try:
        return _text(item, "id", required=True) if isinstance(item, dict) else None
    except UnusableWebhook:
        return None


def read_listing(
    api: ThinkificClient, page_size: int, on_page: Callable[[Page], None] | None = None
) -> Listing:
    """Every page: the usable webhooks, the ids of unusable ones, why each was skipped."""
    remote: dict[str, dict[str, Any]] = {}
    odd_ids: set[str] = set()
    skipped: list[str] = []
    pages = 0
    for page in api.pages(limit=page_size):
        pages += 1
        for index, item in enumerate(page.items, start=1):
            try:
                webhook_id, fields = webhook_fields(item)
            except UnusableWebhook as exc:
                listed_id = _usable_id(item)
                if listed_id is not None:
                    odd_ids.add(listed_id)  # still listed: its row, if any, is not "gone"
                    where = f"webhook {listed_id!r}"
                else:
                    where = f"item {index} of page {page.number}"
                skipped.append(f"{where}: {exc}")
                continue
            remote[webhook_id] = fields
        if on_page:
            on_page(page)
    unusable = frozenset(odd_ids - remote.keys())
    return Listing(webhooks=remote, unusable=unusable, skipped=tuple(skipped), pages=pages)


def sync(
    *,
    client: ThinkificClient | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    on_page: Callable[[Page], None] | None = None,
) -> SyncReport:
    """Make the ``Subscription`` table mirror Thinkific's webhooks: read every page,
    plan (:func:`~.sync_plan.plan_sync`, where the rules are), apply the plan.

    Every page is read before anything is written, so an error anywhere in
    the listing raises and changes nothing (a half-read list never deletes
    rows). The writes are bulk, in one transaction: a constant number of
    queries per 500 webhooks. An item that cannot be stored is skipped and
    reported (``SyncReport.skipped``); its row, if any, is kept.

    A sync never undoes what the service layer did while it ran. It notes
    which rows and which deletions' tombstones existed when it began and,
    under a lock on the rows, leaves alone every row created or changed here
    since (``updated_at`` later than the start) and never brings back a row
    deleted since (one that existed at the start and is gone now, or one
    whose tombstone is new: created and deleted while the list was read).
    Running twice at once is safe: creation ignores a row inserted meanwhile.
    Each sync forgets the tombstones older than ``TOMBSTONE_DAYS``.
    """
    api = client or get_client()
    db = router.db_for_write(Subscription)
    started = timezone.now()
    existed = set(Subscription.objects.using(db).values_list("thinkific_id", flat=True))
    buried = set(DeletedWebhook.objects.using(db).values_list("thinkific_id", flat=True))
    listing = read_listing(api, page_size, on_page)

    with transaction.atomic(using=db):
        local = {
            row["thinkific_id"]: row
            for row in Subscription.objects.using(db)
            .select_for_update()
            .values("pk", "thinkific_id", "updated_at", *SYNCED_FIELDS)
        }
        # Read after the lock, so a deletion committed while the rows were being locked is seen.
        tombstones = dict(
            DeletedWebhook.objects.using(db).values_list("thinkific_id", "deleted_at")
        )
        deleted = deleted_since(existed, buried, local, tombstones)
        plan = plan_sync(listing, local, deleted=deleted, started=started)
        removed = _apply(plan, listing, db, started=started)
        _forget_tombstones(tombstones, db)

    report = SyncReport(
        created=len(plan.create),
        updated=len(plan.update),
        removed=removed,
        unchanged=plan.unchanged,
        pages=listing.pages,
        skipped=listing.skipped,
    )
    logger.info("%s", report.summary())
    for line in report.skipped:
        logger.warning("Sync skipped %s", line)
    return report


def _apply(plan: SyncPlan, listing: Listing, db: str, *, started: datetime) -> int:
    """Write the plan (inside the sync's transaction, the rows locked); how many were removed."""
    now = timezone.now()
    remote = listing.webhooks
    rows = Subscription.objects.using(db)
    if plan.create:
        # A row the service layer or another sync inserted meanwhile is left as it is.
        rows.bulk_create(
            [
                Subscription(thinkific_id=tid, last_synced_at=now, **remote[tid])
                for tid in plan.create
            ],
            batch_size=BATCH_SIZE,
            ignore_conflicts=True,
        )
    if plan.update:
        # The rows are locked, so this upsert overwrites nothing written meanwhile.
        rows.bulk_create(
            [
                Subscription(thinkific_id=tid, last_synced_at=now, updated_at=now, **remote[tid])
                for tid in plan.update
            ],
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["thinkific_id"],
            update_fields=[*SYNCED_FIELDS, "last_synced_at", "updated_at"],
        )
    removed = 0
    gone = plan.delete
    for start in range(0, len(gone), BATCH_SIZE):
        batch = gone[start : start + BATCH_SIZE]
        removed += rows.filter(pk__in=batch, updated_at__lt=started).delete()[0]
    # Every older row still here (but the skipped ones) is in step with Thinkific now.
    rows.filter(updated_at__lt=started).exclude(thinkific_id__in=plan.keep).update(
        last_synced_at=now
    )
    return removed


def _forget_tombstones(tombstones: dict[str, datetime], db: str) -> None:
    """Deletions' tombstones older than ``TOMBSTONE_DAYS``: no sync still running needs them."""
    forget = timezone.now() - timedelta(days=TOMBSTONE_DAYS)
    if any(when < forget for when in tombstones.values()):
        DeletedWebhook.objects.using(db).filter(deleted_at__lt=forget).delete()
