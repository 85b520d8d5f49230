"""Pagination with fixed, site-independent defaults.

Received events use a cursor: the table may hold a million rows, and a cursor
costs one indexed range query per page with no ``COUNT(*)``, and never skips
or repeats a row while new events keep arriving at the top. Subscriptions are
few (one per topic and target), so plain numbered pages with a count are fine.
"""

from __future__ import annotations

from rest_framework.pagination import CursorPagination, PageNumberPagination


class EventCursorPagination(CursorPagination):
    """Newest first; ``pk`` breaks ties between events received in the same instant."""

    ordering = ("-received_at", "-pk")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class SubscriptionPagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
