"""The subscription form: every local rule, then Thinkific, then the row (dj-stripe's pattern).

1. ``clean()`` applies the one local rule the REST API and the service layer
   apply too (:func:`~django_thinkific.services.subscriptions.validate`), and
   ``_post_clean()`` the model's own validators, as for any model form.
2. Only when all of them passed does ``_post_clean()`` call Thinkific; a
   refusal (422) becomes a field error, worded as Thinkific's (a local
   refusal is worded as the check made here). A failure that is not the
   form's fault (Thinkific unreachable or failing, the key refused) keeps the
   form invalid but is not an error to correct: ``api_failure`` holds the
   sentence the admin shows at the top of the page instead.
3. ``save()`` writes the row from Thinkific's answer.

So a form that shows an error has changed nothing, here or at Thinkific; and
the object it was bound to is left as stored (its title and heading show the
row, never the refused values).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ..errors import (
    APIConnectionError,
    RateLimited,
    ServerError,
    ThinkificAPIError,
    ValidationFailed,
)
from ..models import SUBSCRIPTION_EDITABLE_FIELDS, Subscription, max_length
from ..services import subscriptions
from ..topics import TOPIC_CHOICES_BY_RESOURCE
from .display import label

#: Thinkific is unreachable or failing: nothing for the operator to correct, only to retry.
UNAVAILABLE = (APIConnectionError, ServerError, RateLimited)


def api_error_message(exc: ThinkificAPIError) -> str:
    """The sentence for a failure that is no field's fault; nothing changed anywhere."""
    if isinstance(exc, UNAVAILABLE):
        return str(
            _(
                "Thinkific could not be reached or did not answer (%(error)s), so nothing was "
                "changed, here or at Thinkific. Try again later."
            )
        ) % {"error": exc}
    return str(_("Thinkific did not accept the change: %(error)s. Nothing was changed.")) % {
        "error": exc
    }


class SubscriptionForm(forms.ModelForm):
    # No topic preselected: a blank first choice, so a forgotten topic is an error.
    topic = forms.ChoiceField(
        label=capfirst(label(Subscription, "topic")),
        choices=[("", "---------"), *TOPIC_CHOICES_BY_RESOURCE],
    )
    target_url = forms.CharField(
        label=capfirst(label(Subscription, "target_url")),
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
    #: The same rules checked here, before anything was sent: not Thinkific's words.
    EXPLAIN_LOCAL = {
        "target_url": _(
            "This URL cannot receive webhooks from Thinkific: it must use https and a public "
            "host name, not localhost, an IP address, a reserved test domain or a Thinkific "
            "domain. Checked here; nothing was sent to Thinkific."
        ),
        "topic": _("Not a topic Thinkific offers. Checked here; nothing was sent to Thinkific."),
    }

    #: Set when Thinkific failed in a way no field can correct (see the module's docstring).
    api_failure: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored = {name: getattr(self.instance, name) for name in self._meta.fields or ()}

    def _explain(self, field: str, message: str, *, local: bool) -> tuple[str | None, str]:
        table = self.EXPLAIN_LOCAL if local else self.EXPLAIN
        if field in table:
            return field, str(table[field]) % {"message": message}
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
        if not self.errors:
            self._call_thinkific()
        if self.errors:
            self._restore()

    def _call_thinkific(self) -> None:
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
            self.api_failure = api_error_message(exc)
            self.add_error(None, self.api_failure)  # invalid: nothing may be saved

    def _restore(self) -> None:
        """Give the bound object back its stored values (validation wrote the posted ones)."""
        for name, value in self._stored.items():
            setattr(self.instance, name, value)

    def _add_refusal(self, exc: ValidationFailed) -> None:
        local = exc.status is None  # raised by subscriptions.validate, not by Thinkific
        for field, messages in exc.errors.items():
            for message in messages:
                self.add_error(*self._explain(field, message, local=local))

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
