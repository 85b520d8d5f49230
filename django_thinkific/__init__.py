"""django-thinkific: Thinkific webhooks for Django sites."""

__version__ = "0.1.0"
