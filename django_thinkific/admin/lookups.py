"""What both admin lists share: their GET parameters checked, and a topic filter.

Django's changelist turns a lookup it cannot build into a redirect to ``?e=1``,
but some values only fail when the query runs, which is a 500: a NUL in any
text on PostgreSQL, an instant outside years 1 to 9999 once in UTC, an
offset PostgreSQL refuses (past 15:59). Those are caught here first, with
the same answer Django gives for any other bad lookup.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import models
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext as _

from ..services.stats import topics_in_use
from ..timestamps import parse_timestamp
from ..topics import TOPICS

#: Lookups whose value is one instant (``in`` and ``range``: comma-separated instants).
_INSTANT_LOOKUPS = frozenset({"", "exact", "gt", "gte", "lt", "lte"})
_LIST_LOOKUPS = frozenset({"in", "range"})
#: Every lookup the lists' own filters write; any other (``__year``, ``__regex``, ...)
#: is a hand-made URL, refused rather than handed to the database or the calendar.
_ALLOWED_LOOKUPS = _INSTANT_LOOKUPS | _LIST_LOOKUPS | {"isnull"}


def checked_query(query: QueryDict, model: type[models.Model]) -> QueryDict:
    """``query`` with every instant of a date-time lookup written in the site's time zone.

    Instants are read by :func:`django_thinkific.timestamps.parse_timestamp`
    (naive values and bare dates in the site's time zone, as the admin's
    own date filter writes them, and unchanged when they already are).
    Raises ``IncorrectLookupParameters`` for a NUL anywhere, a lookup on a
    field that none of the filters writes, or an instant that is malformed or
    not usable.
    """
    zone = timezone.get_current_timezone()
    fields = {f.name: f for f in model._meta.concrete_fields}
    fields["pk"] = model._meta.pk  # the alias Django's lookups accept too
    checked = query.copy()
    for key, values in query.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            raise IncorrectLookupParameters(f"{key!r}: NUL character")
        name, _sep, lookup = key.partition("__")
        if name not in fields:
            continue  # not a field: search, ordering, page, popup, ...
        if lookup not in _ALLOWED_LOOKUPS:
            raise IncorrectLookupParameters(f"{key!r}: not a lookup the filters use")
        if lookup == "isnull":
            continue
        if isinstance(fields[name], models.IntegerField):
            _check_integers(key, values, lookup)
            continue
        if not isinstance(fields[name], models.DateTimeField):
            continue
        written = []
        for value in values:
            parts = value.split(",") if lookup in _LIST_LOOKUPS else [value]
            instants = [parse_timestamp(p, naive_tz=zone, dates=True) for p in parts]
            if None in instants:
                raise IncorrectLookupParameters(f"{key!r}: not a usable date or date-time")
            written.append(",".join(str(i.astimezone(zone)) for i in instants if i))
        checked.setlist(key, written)
    return checked


def _check_integers(key: str, values: list[str], lookup: str) -> None:
    """Integers a 64-bit column can be compared with (Django 4.2 on SQLite would 500)."""
    for value in values:
        for part in value.split(",") if lookup in _LIST_LOOKUPS else [value]:
            text = part.strip()
            if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()):
                raise IncorrectLookupParameters(f"{key!r}: not an integer")
            if not -(2**63) <= int(text) < 2**63:
                raise IncorrectLookupParameters(f"{key!r}: out of range")


def search_terms(search_term: str) -> list[str]:
    """The words of an admin search, split and unquoted as Django's own search does."""
    terms = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        terms.append(bit)
    return terms


class CheckedLookupsMixin:
    """For a ``ModelAdmin``: bad GET parameters end as ``?e=1``, never a 500."""

    #: More words than this in a search is a bad lookup: each is a condition ANDed with the
    #: others, and SQLite refuses an expression 1,000 deep (about 1,000 words, a 2 KB URL).
    MAX_SEARCH_TERMS = 100

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        # A mutable copy where Django's is immutable (the stubs' type): the changelist only
        # reads it. ``self.model`` is the ModelAdmin's.
        request.GET = checked_query(request.GET, self.model)  # type: ignore[attr-defined,assignment]
        return super().get_changelist_instance(request)  # type: ignore[misc]

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[Any], search_term: str
    ) -> tuple[models.QuerySet[Any], bool]:
        """Django's search, except what no database should be asked: too many words
        (``?e=1``), or a word longer than every searched column, which matches nothing
        (and past 50,000 characters is a LIKE pattern SQLite refuses)."""
        terms = search_terms(search_term)
        if len(terms) > self.MAX_SEARCH_TERMS:
            raise IncorrectLookupParameters(f"a search of more than {self.MAX_SEARCH_TERMS} words")
        fields = [
            self.model._meta.get_field(name.lstrip("=^@"))  # type: ignore[attr-defined]
            for name in self.get_search_fields(request)  # type: ignore[attr-defined]
        ]
        lengths: list[int | None] = [getattr(field, "max_length", None) for field in fields]
        longest = max((n for n in lengths if n is not None), default=None)
        if fields and None not in lengths and longest and any(len(t) > longest for t in terms):
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]


class TopicFilter(admin.ChoicesFieldListFilter):
    """Every known topic, then any other topic present in the table.

    The column has no choices on purpose: an event of a topic Thinkific added
    later is stored, shown as it is, and can be picked here like any other.
    """

    def choices(self, changelist: Any) -> Any:
        # Django < 5.0 keeps one value, later a list (the stubs still say a str).
        selected: list[str] | str | None = self.lookup_val
        if isinstance(selected, str):
            selected = [selected]
        yield {
            "selected": not selected,
            "query_string": changelist.get_query_string(
                remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]
            ),
            "display": _("All"),
        }
        present = topics_in_use(self.field.model, self.field.name)
        for topic in [*TOPICS, *sorted(set(present) - set(TOPICS))]:
            yield {
                "selected": topic in (selected or ()),
                "query_string": changelist.get_query_string(
                    {self.lookup_kwarg: topic}, [self.lookup_kwarg_isnull]
                ),
                "display": topic,
            }
