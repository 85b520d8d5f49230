from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoThinkificConfig(AppConfig):
    name = "django_thinkific"
    label = "django_thinkific"
    verbose_name = _("Thinkific")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the system checks, and the Celery tasks (published by name, so
        # importing them here is what lets an eager app run them in this process).
        from . import checks, tasks  # noqa: F401
