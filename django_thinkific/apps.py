from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoThinkificConfig(AppConfig):
    name = "django_thinkific"
    label = "django_thinkific"
    verbose_name = _("Thinkific")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
        from .compat import celery_installed

        # The Celery tasks, where Celery is installed (an extra: ``DISPATCH = "sync"``
        # needs none). They are published by name, so importing them here is what
        # lets an eager app run them in this process.
        if celery_installed():
            from . import tasks  # noqa: F401
