from django.apps import AppConfig


class Review2Config(AppConfig):
    name = "tests.review2_app"
    label = "review2_app"

    def ready(self):
        from . import receivers  # noqa: F401
