"""A Celery app configured from the test settings (eager, in-memory broker)."""

from celery import Celery

app = Celery("django_thinkific_tests")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.set_default()
