"""Pagination with fixed, site-independent defaults.

Received events use a cursor: the table may hold a million rows, and a cursor
costs one indexed range query per page with no ``COUNT(*)``, and never skips
or repeats a row while new events keep arriving at the top. Subscriptions are
few (one per topic and target), so plain numbered pages with a count are fine.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

from ..timestamps import parse_timestamp


class StrictPageSize:
    """``page_size`` from 1 to ``max_page_size``, or a 400 naming it (blank: the default).

    DRF's own reading quietly took ``-1.5``, ``abc`` or ``0`` for the default page and
    ``10**9`` for the largest, so the schema's bounds were not the API's. Here they are
    the same, published in the schema (found by tests/test_rest_schema_fuzz.py).
    """

    page_size: int
    page_size_query_param = "page_size"
    max_page_size: int

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            message = _("Enter a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
            raise ValidationError({self.page_size_query_param: [message]})
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)  # type: ignore[misc]
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            if parameter["name"] == "page":
                parameter["schema"]["minimum"] = 1
        return parameters


class EventCursorPagination(StrictPageSize, CursorPagination):
    """Newest first; ``pk`` breaks ties between events received in the same instant.

    A cursor is opaque but not signed: one that was not made here (bad
    base64, a position that is no usable instant) is a 400 naming ``cursor``,
    like a bad filter, rather than a database error. The position goes to
    the database as the parsed instant, in UTC.
    """

    ordering = ("-received_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None  # blank, like a blank filter: the first page
        try:
            b64decode(encoded.encode("ascii"), validate=True)  # DRF's own decoding is lenient
            cursor = super().decode_cursor(request)
        except (binascii.Error, UnicodeError, NotFound):
            raise self._invalid() from None
        if cursor is None or cursor.position is None:
            return cursor
        position = parse_timestamp(cursor.position)
        if position is None:
            raise self._invalid()
        # The stubs type ``position`` as an int; DRF keeps the ordering field's value there.
        return cursor._replace(position=position)  # type: ignore[arg-type]

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})


class SubscriptionPagination(StrictPageSize, PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
