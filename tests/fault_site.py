"""The example site plus tests.fault_receivers (receivers chosen by FAULT_RECEIVERS)."""

from example_project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.fault_receivers"]  # noqa: F405
