from django.apps import AppConfig


class FaultReceiversConfig(AppConfig):
    name = "tests.fault_receivers"
    label = "fault_receivers"

    def ready(self):
        from . import receivers  # noqa: F401
