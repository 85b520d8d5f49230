"""Pagination with fixed, site-independent defaults.

Received events use a cursor: the table may hold a million rows, and a cursor
costs one indexed range query per page with no ``COUNT(*)``, and never skips
or repeats a row while new events keep arriving at the top. Subscriptions are
few (one per topic and target), so plain numbered pages with a count are fine.
"""

from __future__ import annotations

import binascii
from base64 import b64decode

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

from ..timestamps import parse_timestamp


class EventCursorPagination(CursorPagination):
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


class SubscriptionPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
