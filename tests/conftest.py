import pytest

from tests import celery_app  # noqa: F401  (eager Celery app for DISPATCH="celery")


@pytest.fixture
def thinkific(settings):
    """Change THINKIFIC keys for one test: ``thinkific(DISPATCH="celery")``."""

    def update(**values):
        settings.THINKIFIC = {**settings.THINKIFIC, **values}
        return settings.THINKIFIC

    return update
