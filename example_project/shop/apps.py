from django.apps import AppConfig


class ShopConfig(AppConfig):
    """The site's own code: where a real site would react to Thinkific events."""

    name = "example_project.shop"
    label = "shop"

    def ready(self) -> None:
        from django.core.checks import register

        from . import receivers  # noqa: F401  (connects the receivers)
        from .checks import example_settings

        register(example_settings)
