"""The subscription form calls Thinkific in ``clean``, so a refusal is a form error.

This is dj-stripe's pattern: validation *is* the remote call. If Thinkific
refuses (422, 401, unreachable) the form shows why, in plain words, and
nothing changes locally; if it accepts, the service has already stored the
row and the admin only has to redirect.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ..errors import ThinkificAPIError, ValidationFailed
from ..models import Subscription
from ..services import subscriptions
from ..topics import TOPIC_CHOICES


def api_error_message(exc: ThinkificAPIError) -> str:
    return str(_("Thinkific did not accept the change: %(error)s. Nothing was changed.")) % {
        "error": exc
    }


class SubscriptionForm(forms.ModelForm):
    topic = forms.ChoiceField(label=_("topic"), choices=TOPIC_CHOICES)
    target_url = forms.CharField(
        label=_("target URL"),
        max_length=2000,
        help_text=_("Where Thinkific sends the events: https, on a public host name."),
        widget=forms.URLInput(attrs={"class": "vURLField", "size": 80}),
    )

    class Meta:
        model = Subscription
        fields = ("topic", "target_url")

    #: Thinkific's messages are fragments ("is not valid"); say what they mean.
    EXPLAIN = {
        "target_url": _(
            "Thinkific refused this URL (%(message)s): it must use https and a public host "
            "name, not localhost, an IP address or a Thinkific domain."
        ),
        "topic": _("Thinkific refused this topic (%(message)s)."),
    }

    def _explain(self, field: str, message: str) -> tuple[str | None, str]:
        if field in self.EXPLAIN:
            return field, str(self.EXPLAIN[field]) % {"message": message}
        return None, message

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        topic, target_url = cleaned["topic"], cleaned["target_url"].strip()
        try:
            if self.instance.pk:
                self.instance = subscriptions.update(
                    self.instance, topic=topic, target_url=target_url
                )
            else:
                self.instance = subscriptions.create(topic, target_url)
        except ValidationFailed as exc:
            for field, messages in exc.errors.items():
                for message in messages:
                    self.add_error(*self._explain(field, message))
        except ThinkificAPIError as exc:
            raise forms.ValidationError(api_error_message(exc)) from None
        cleaned["target_url"] = target_url
        return cleaned
