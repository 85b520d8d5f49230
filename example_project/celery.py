"""The example site's Celery app.

With ``CELERY_BROKER_URL`` empty (the demo and the default) tasks run eagerly
in the web process, so nothing else needs to be running.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

app = Celery("example_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
