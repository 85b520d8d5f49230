"""The old name of :mod:`django_thinkific.services.sending` (documented, so kept).

``__test__ = False``: a module named ``test_*`` is not a test module to pytest.
"""

from __future__ import annotations

from .sending import SentTestEvent, send_test_event

__test__ = False

#: The old name of :class:`~django_thinkific.services.sending.SentTestEvent`.
TestDelivery = SentTestEvent

__all__ = ["SentTestEvent", "TestDelivery", "send_test_event"]
