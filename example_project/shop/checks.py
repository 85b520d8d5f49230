"""The example site's own check: environment variables its settings could not use."""

from django.conf import settings
from django.core.checks import Error


def example_settings(app_configs=None, **kwargs):
    return [
        Error(message, hint="Fix it in the environment or .env.", id="shop.E001")
        for message in getattr(settings, "EXAMPLE_SETTING_ERRORS", [])
    ]
