"""Admin screens. Thin: every change goes through ``services``."""

from .events import ReceivedEventAdmin
from .subscriptions import SubscriptionAdmin

__all__ = ["ReceivedEventAdmin", "SubscriptionAdmin"]
