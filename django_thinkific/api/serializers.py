"""Serializers: representation, input shape, and the event list's query filters.

Input is checked here only for shape (present, a string). Whether a topic or
target URL is acceptable is Thinkific's rule, applied by the service layer,
so the API answers with exactly Thinkific's messages ("invalid format",
"is not valid") whether the check ran locally or at Thinkific.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import (
    EVENT_FIELDS,
    SUBSCRIPTION_EDITABLE_FIELDS,
    ReceivedEvent,
    Subscription,
    max_length,
)
from ..services.sync_plan import SYNCED_FIELDS
from ..timestamps import parse_timestamp


class StringField(serializers.CharField):
    """A JSON string, nothing else: DRF's ``CharField`` would turn ``123`` into ``"123"``."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")  # "Not a valid string.", a 400 like any malformed request
        return super().to_internal_value(data)


class TopicField(StringField):
    """A subscription's topic; the schema lists the known ones for requests (schema.py)."""


class TargetURLField(StringField):
    """A subscription's target URL; the schema says what a request needs (schema.py)."""


class SubscriptionSerializer(serializers.ModelSerializer):
    # Plain strings, not the model's choice/URL fields: the service validates
    # them with Thinkific's own rules and messages (422), see the module docstring.
    topic = TopicField(max_length=max_length(Subscription, "topic"))
    target_url = TargetURLField(max_length=max_length(Subscription, "target_url"))

    class Meta:
        model = Subscription
        fields = (
            "id",
            "thinkific_id",
            *SYNCED_FIELDS,
            "last_synced_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = tuple(f for f in fields if f not in SUBSCRIPTION_EDITABLE_FIELDS)


class EventListSerializer(serializers.ModelSerializer):
    """One line of the event log; the payload and traceback only on the detail."""

    class Meta:
        model = ReceivedEvent
        fields: tuple[str, ...] = ("id", *EVENT_FIELDS)
        read_only_fields: tuple[str, ...] = fields


class EventDetailSerializer(EventListSerializer):
    class Meta(EventListSerializer.Meta):
        fields = (*EventListSerializer.Meta.fields, "payload", "last_error")
        read_only_fields = fields


# "2024-05-01T12:00:00+02:00" typed into a URL unencoded arrives with a space
# for the "+": put it back rather than refuse what the user plainly meant.
_SPACED_OFFSET = re.compile(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


@extend_schema_field(
    {
        "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
        "description": "An ISO 8601 date or date-time.",
        "example": "2024-05-01T13:30:00Z",
    }
)
class DateOrDateTimeField(serializers.Field):
    """An ISO 8601 date (midnight, current time zone) or date-time (naive: current time zone).

    Parsed by :func:`django_thinkific.timestamps.parse_timestamp`, the one rule:
    an instant that is not usable (outside years 1 to 9999 in some time zone)
    is refused like a malformed one, and the value reaching the database is
    in UTC whatever offset was written (PostgreSQL refuses offsets past 15:59).
    """

    default_error_messages = {
        "invalid": _(
            "Enter an ISO 8601 date (2024-05-01) or date-time (2024-05-01T13:30:00Z) "
            "between the years 1 and 9999."
        ),
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str):
            self.fail("invalid")
        value = _SPACED_OFFSET.sub(r"\1+\2", data.strip())
        parsed = parse_timestamp(value, naive_tz=timezone.get_current_timezone(), dates=True)
        if parsed is None:
            self.fail("invalid")
        return parsed

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


def _text_filter(model: Any, name: str) -> serializers.CharField:
    """A text query parameter as long as its column; DRF's CharField refuses NUL."""
    return serializers.CharField(required=False, max_length=max_length(model, name))


class EventFilterSerializer(serializers.Serializer):
    """The event list's query parameters; a bad value is a 400 naming the parameter."""

    topic = _text_filter(ReceivedEvent, "topic")
    status = serializers.ChoiceField(required=False, choices=ReceivedEvent.Status.choices)
    received_after = DateOrDateTimeField(
        required=False, help_text=_("Received at or after this instant (inclusive).")
    )
    received_before = DateOrDateTimeField(
        required=False, help_text=_("Received before this instant (exclusive).")
    )


class SubscriptionFilterSerializer(serializers.Serializer):
    """The subscription list's query parameters (exact matches); a bad value is a 400."""

    topic = _text_filter(Subscription, "topic")
    # Any text: Thinkific may report a state this app does not know yet.
    status = _text_filter(Subscription, "status")


class SendTestSerializer(serializers.Serializer):
    """The outcome of ``send-test``: delivered or not, the request itself succeeded."""

    event_id = serializers.CharField()
    status_code = serializers.IntegerField(allow_null=True)
    ok = serializers.BooleanField()
    detail = serializers.CharField(source="describe")


class SyncReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    removed = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    pages = serializers.IntegerField()
    total = serializers.IntegerField()
    skipped = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("Items of Thinkific's answer that were not stored, each saying why."),
    )


class ProcessAgainSerializer(serializers.Serializer):
    processed = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    gone = serializers.IntegerField(help_text="1 when the event was deleted (pruned) meanwhile")
    event = EventDetailSerializer(allow_null=True)
