"""The example site plus tests.review2_app (receivers chosen by REVIEW2_BEHAVIOUR)."""

from example_project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.review2_app"]  # noqa: F405
