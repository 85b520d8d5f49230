"""The tables: the site's Thinkific webhooks, the events they delivered, and tombstones."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .encoders import PayloadJSONEncoder


def max_length(model: type[models.Model], name: str) -> int:
    """The width of ``model``'s column ``name``: the one place every limit is read from."""
    return model._meta.get_field(name).max_length or 0  # type: ignore[union-attr]


class Subscription(models.Model):
    """One Thinkific webhook, mirrored from the Webhooks API.

    Rows are written only by the service layer after Thinkific accepted the
    change, so ``thinkific_id`` is always known and unique.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        INACTIVE = "inactive", _("inactive")

    thinkific_id = models.CharField(_("Thinkific ID"), max_length=64, unique=True)
    # No choices, as for events: a sync stores a webhook of a topic Thinkific
    # added after this release. Creating one is checked against TOPICS.
    topic = models.CharField(_("topic"), max_length=100)
    target_url = models.URLField(_("target URL"), max_length=2000)
    # Not limited to Status: Thinkific may report a state we do not know yet.
    status = models.CharField(_("status"), max_length=32, default=Status.ACTIVE)
    remote_created_at = models.DateTimeField(_("created at Thinkific"), null=True, blank=True)
    remote_updated_at = models.DateTimeField(_("updated at Thinkific"), null=True, blank=True)
    # Thinkific sends these as strings in examples and numbers in its schema.
    created_by = models.CharField(
        _("created by"),
        max_length=64,
        blank=True,
        help_text=_(
            "The Thinkific user who created this webhook at Thinkific: their user ID, as "
            "Thinkific reports it (set by Thinkific, not editable here)."
        ),
    )
    updated_by = models.CharField(
        _("updated by"),
        max_length=64,
        blank=True,
        help_text=_("The Thinkific user who last changed this webhook: their user ID."),
    )
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    created_at = models.DateTimeField(_("added here"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed here"), auto_now=True)

    class Meta:
        verbose_name = _("Thinkific webhook")
        verbose_name_plural = _("Thinkific webhooks")
        ordering = ("topic", "target_url")
        indexes = [
            models.Index(fields=["topic"], name="thinkific_sub_topic_idx"),
            models.Index(fields=["status"], name="thinkific_sub_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} → {self.target_url}"


class DeletedWebhook(models.Model):
    """The Thinkific id of a webhook the service layer deleted, and when (kept a day).

    A sync that read Thinkific's list before the deletion would otherwise bring
    the row back (see ``services.subscriptions.sync``); each sync forgets the
    rows older than a day.
    """

    thinkific_id = models.CharField(_("Thinkific ID"), max_length=64, primary_key=True)
    deleted_at = models.DateTimeField(_("deleted"))

    class Meta:
        verbose_name = _("deleted Thinkific webhook")
        verbose_name_plural = _("deleted Thinkific webhooks")
        indexes = [models.Index(fields=["deleted_at"], name="thinkific_delwh_deleted_idx")]

    def __str__(self) -> str:
        return self.thinkific_id


#: What a site sets on a webhook; every other ``Subscription`` field mirrors
#: Thinkific or is bookkeeping (the admin form, the admin and the API all use this).
SUBSCRIPTION_EDITABLE_FIELDS = ("topic", "target_url")

#: A received event's recorded facts, in the order the admin and the REST API show them.
EVENT_FIELDS = (
    "event_id",
    "topic",
    "resource",
    "action",
    "status",
    "tenant_id",
    "site",
    "header_topic",
    "thinkific_created_at",
    "received_at",
    "processed_at",
    "attempts",
    "last_attempt_at",
)


class ReceivedEvent(models.Model):
    """One event Thinkific delivered, stored once however often it arrives.

    ``event_id`` is unique: a retried delivery hits the constraint and is
    recognised, never stored twice. ``attempts`` doubles as a version number
    for claiming the event for processing (see ``services.processing``).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PROCESSED = "processed", _("processed")
        FAILED = "failed", _("failed")

    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(_("event ID"), max_length=64, unique=True)
    # No choices: an event of a topic Thinkific added later is stored on purpose
    # and shown as it is (choices would show it as "-"); see topics.TOPICS.
    topic = models.CharField(_("topic"), max_length=100)
    resource = models.CharField(_("resource"), max_length=50)
    action = models.CharField(_("action"), max_length=50)
    tenant_id = models.CharField(_("tenant ID"), max_length=64, blank=True)
    site = models.CharField(
        _("site"), max_length=255, blank=True, help_text=_("The X-Thinkific-Subdomain header.")
    )
    header_topic = models.CharField(
        _("topic header"),
        max_length=100,
        blank=True,
        help_text=_("The X-Thinkific-Topic header, recorded only; the topic comes from the body."),
    )
    # The encoder keeps large floats floats on PostgreSQL (see django_thinkific.encoders).
    payload = models.JSONField(_("payload"), default=dict, encoder=PayloadJSONEncoder)
    thinkific_created_at = models.DateTimeField(_("created at Thinkific"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    lost_attempts = models.PositiveIntegerField(
        _("lost attempts"),
        default=0,
        help_text=_(
            "Attempts whose process died (or overran PROCESSING_TIMEOUT) before recording"
            " an outcome; after a few the event is failed instead of being taken over again."
        ),
    )
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("received event")
        verbose_name_plural = _("received events")
        ordering = ("-received_at",)
        get_latest_by = "received_at"
        indexes = [
            # Pruning deletes by age; the admin list sorts by it.
            models.Index(fields=["received_at"], name="thinkific_evt_received_idx"),
            # The admin filters by status or topic, newest first.
            models.Index(fields=["status", "received_at"], name="thinkific_evt_status_idx"),
            models.Index(fields=["topic", "received_at"], name="thinkific_evt_topic_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.event_id}"


class PrunedEvent(models.Model):
    """The id of an event the prune deleted, kept for ``REPLAY_WINDOW_DAYS``.

    Thinkific signs only the body, so a captured delivery stays valid for
    ever: once its ``ReceivedEvent`` is pruned, this row is what still
    recognises a replay (answered as a duplicate; no receiver runs). Two
    columns and two indexes: about 180 bytes an event on
    PostgreSQL (see SECURITY.md).
    """

    event_id = models.CharField(_("event ID"), max_length=64, primary_key=True)
    received_at = models.DateTimeField(_("received"))

    class Meta:
        verbose_name = _("pruned event")
        verbose_name_plural = _("pruned events")
        indexes = [models.Index(fields=["received_at"], name="thinkific_pruned_received_idx")]

    def __str__(self) -> str:
        return self.event_id
