"""The subscription form: every local rule, then Thinkific, then the row (dj-stripe's pattern).

1. ``clean()`` applies the one local rule the REST API and the service layer
   apply too (:func:`~django_thinkific.services.subscriptions.validate`), and
   ``_post_clean()`` the model's own validators, as for any model form.
2. Only when all of them passed does ``_post_clean()`` call Thinkific; a
   refusal (422, 401, unreachable) becomes a form error and nothing changes.
3. ``save()`` writes the row from Thinkific's answer.

So a form that shows an error has changed nothing, here or at Thinkific.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from ..errors import ThinkificAPIError, ValidationFailed
from ..models import SUBSCRIPTION_EDITABLE_FIELDS, Subscription, max_length
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
        max_length=max_length(Subscription, "target_url"),
        help_text=_("Where Thinkific sends the events: https, on a public host name."),
        widget=forms.URLInput(attrs={"class": "vURLField", "size": 80}),
    )

    class Meta:
        model = Subscription
        fields = SUBSCRIPTION_EDITABLE_FIELDS

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
        cleaned = cast("dict[str, Any]", super().clean())  # a ModelForm's is never None
        if self.errors:
            return cleaned
        cleaned["target_url"] = cleaned["target_url"].strip()
        try:
            subscriptions.validate(cleaned["topic"], cleaned["target_url"])
        except ValidationFailed as exc:
            self._add_refusal(exc)
        return cleaned

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # the model's validators (not in the stubs)
        self._remote: dict[str, Any] | None = None
        if self.errors:
            return
        topic, target_url = self.cleaned_data["topic"], self.cleaned_data["target_url"]
        try:
            if self.instance.pk:
                self._remote = subscriptions.update_remote(
                    self.instance, topic=topic, target_url=target_url
                )
            else:
                self._remote = subscriptions.create_remote(topic, target_url)
        except ValidationFailed as exc:
            self._add_refusal(exc)
        except ThinkificAPIError as exc:
            self.add_error(None, api_error_message(exc))

    def _add_refusal(self, exc: ValidationFailed) -> None:
        for field, messages in exc.errors.items():
            for message in messages:
                self.add_error(*self._explain(field, message))

    def save(self, commit: bool = True) -> Subscription:
        """Store what Thinkific accepted; always, as Thinkific has already changed."""
        if getattr(self, "_remote", None) is None:
            raise ValueError("save() needs a form that is valid (Thinkific accepted it)")
        self.instance = subscriptions.store(
            self._remote,  # type: ignore[arg-type]
            self.instance if self.instance.pk else None,
        )
        if not commit:
            # what ModelForm offers after save(commit=False) (``_save_m2m`` is not in the stubs)
            self.save_m2m = self._save_m2m  # type: ignore[method-assign,attr-defined]
        return self.instance
