"""The staff REST API: subscriptions and received events over HTTP.

A thin layer over :mod:`django_thinkific.services`: every change goes through
the same functions the admin and the management commands call, so the API
can never disagree with them, and nothing in this package talks to Thinkific
itself. Mounted by ``django_thinkific.urls`` under ``<mount>/api/``.
"""
