"""The one list of Thinkific webhook topics.

Model choices, the per-topic signals, the admin filters and the bundled sample
deliveries are all derived from ``TOPICS`` so that adding a topic Thinkific
announces is a one-line change here. A topic that is *not* listed is still a
valid event: it is stored and sent through ``webhook_received``; it just has no
signal of its own yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Topic:
    resource: str
    action: str
    description: str | Promise

    @property
    def name(self) -> str:
        """Thinkific's dotted name, ``resource.action``."""
        return f"{self.resource}.{self.action}"

    @property
    def signal_name(self) -> str:
        """Attribute name in :mod:`django_thinkific.signals` (dots become underscores)."""
        return self.name.replace(".", "_")


_ALL: tuple[Topic, ...] = (
    Topic("lead", "created", _("A visitor submitted a lead-capture form.")),
    Topic("order", "created", _("An order was completed.")),
    Topic("order_transaction", "succeeded", _("A payment for an order succeeded.")),
    Topic("order_transaction", "failed", _("A payment for an order failed.")),
    Topic("order_transaction", "refunded", _("A payment for an order was refunded.")),
    Topic("subscription", "cancelled", _("A subscription or payment plan was cancelled.")),
    Topic("subscription", "past_due", _("A subscription payment is past due.")),
    Topic("subscription", "unpaid", _("A subscription stayed unpaid after its retries.")),
    Topic("user", "signup", _("A new user signed up.")),
    Topic("user", "signin", _("A user signed in.")),
    Topic("user", "updated", _("A user's profile was updated.")),
    Topic("enrollment", "trial", _("A free-trial enrollment was created.")),
    Topic("enrollment", "created", _("A full enrollment was created.")),
    Topic("enrollment", "progress", _("A student made progress in a course.")),
    Topic("enrollment", "completed", _("A student completed a course.")),
    Topic("course", "created", _("A course was created.")),
    Topic("course", "updated", _("A course was updated.")),
    Topic("course", "deleted", _("A course was deleted.")),
    Topic("lesson", "completed", _("A student completed a lesson.")),
    Topic("quiz", "attempted", _("A student attempted a quiz.")),
    Topic("app", "uninstalled", _("The app was uninstalled from the site.")),
    Topic("product", "created", _("A product was created.")),
    Topic("product", "updated", _("A product was updated.")),
    Topic("product", "deleted", _("A product was deleted.")),
    Topic("plan", "updated", _("A payment plan was updated.")),
)

#: Every known topic, keyed by dotted name, in Thinkific's documented order.
TOPICS: dict[str, Topic] = {t.name: t for t in _ALL}

#: ``choices`` for model and form fields.
TOPIC_CHOICES: list[tuple[str, str]] = [(name, name) for name in TOPICS]

#: The same topics for a form a person picks from: grouped by resource (``<optgroup>``),
#: resources and topics sorted by name.
TOPIC_CHOICES_BY_RESOURCE: list[tuple[str, list[tuple[str, str]]]] = [
    (resource, sorted((t.name, t.name) for t in _ALL if t.resource == resource))
    for resource in sorted({t.resource for t in _ALL})
]


#: Other spellings of a known topic seen in Thinkific's deliveries: a subscription
#: sample spells its action ``canceled`` while the topic is ``subscription.cancelled``
#: (FACTS.md). Such an event is stored and signalled under the registry's name; its
#: ``action`` column keeps what was sent.
ALIASES: dict[str, str] = {"subscription.canceled": "subscription.cancelled"}


def canonical_topic(name: str) -> str:
    """The registry's name for topic ``name`` (itself when it has no other spelling)."""
    return ALIASES.get(name, name)


def get_topic(name: str) -> Topic | None:
    """The registered topic called ``name``, or ``None`` for one Thinkific added later."""
    return TOPICS.get(name)


def split_topic(name: str) -> tuple[str, str]:
    """``"order_transaction.refunded"`` -> ``("order_transaction", "refunded")``.

    Raises ``ValueError`` for a name that is not ``resource.action``; used by
    tests and samples, never on the receiving path (which has the two parts).
    """
    resource, sep, action = name.rpartition(".")
    if not sep or not resource or not action:
        raise ValueError(f"{name!r} is not a topic name of the form 'resource.action'")
    return resource, action
