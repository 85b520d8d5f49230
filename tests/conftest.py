import pytest

from django_thinkific.compat import celery_installed

if celery_installed():  # an extra: tox's nocelery environment runs without it
    from tests import celery_app  # noqa: F401  (eager Celery app for DISPATCH="celery")


@pytest.fixture
def thinkific(settings):
    """Change THINKIFIC keys for one test: ``thinkific(DISPATCH="celery")``."""

    def update(**values):
        settings.THINKIFIC = {**settings.THINKIFIC, **values}
        return settings.THINKIFIC

    return update


@pytest.fixture(autouse=True)
def _clear_cache():
    """The admin chart caches its query; each test starts from an empty cache."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def retry_pauses(monkeypatch):
    """API retries record their pauses instead of sleeping."""
    pauses = []
    monkeypatch.setattr("django_thinkific.client.pause", pauses.append)
    return pauses


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    """Test-event targets under ``acme.io`` resolve to a public address (the test machine
    may have no DNS at all): send-test resolves and checks a target's addresses first."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if isinstance(host, str) and host.rstrip(".").endswith(".acme.io"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port or 0))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def fake_api(settings):
    """The fake Webhooks API, answering for the test settings' API_BASE_URL via ``responses``."""
    import responses

    from django_thinkific.services.subscriptions import _client_for
    from django_thinkific.testing.fake_api import FakeThinkificAPI

    _client_for.cache_clear()
    fake = FakeThinkificAPI(
        base_url=settings.THINKIFIC["API_BASE_URL"], api_key=settings.THINKIFIC["API_KEY"]
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake.mount(mock)
        fake.responses = mock  # tests register other URLs (e.g. a send-test target) here
        yield fake
    _client_for.cache_clear()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """On PostgreSQL, end the live server's lingering sessions so the test DB can be dropped."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(scope="session")
def redis_url():
    """A throwaway redis-server on a free loopback port, for the whole session."""
    from tests.stack import ThrowawayRedis

    server = ThrowawayRedis()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def example_stack(redis_url, transactional_db):
    """The example project under gunicorn and a Celery worker, on the test database."""
    from tests.stack import ExampleStack

    stack = ExampleStack.on_test_database(redis_url=redis_url)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(autouse=True)
def _celery_join_flag():
    """Celery keeps "a task is running" in one process-wide flag that eager tasks set
    and restore; eager tasks on racing threads (tests/test_concurrency.py) can leave it
    set, and a later ``EagerResult.get()`` then refuses. Each test starts with it clear."""
    if not celery_installed():
        return
    from celery.result import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture
def staff(db):
    """A staff account with every permission of the app: ``ops`` / ``ops-pw``."""
    from tests.factories import operator

    return operator()


@pytest.fixture
def member(db):
    """A signed-up user who is not staff: ``member`` / ``member-pw``."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("member", password="member-pw")


@pytest.fixture
def staff_api(staff):
    """A DRF client logged in as :func:`staff`."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(staff)
    return client


class Connections:
    """``connect(signal, receiver)``: connected (strongly) for one test, then disconnected."""

    def __init__(self) -> None:
        self._undo: list = []

    def __call__(self, signal, receiver, *, sender=None):
        signal.connect(receiver, sender=sender, weak=False)
        self._undo.append(lambda: signal.disconnect(receiver, sender=sender))
        return receiver

    def by_uid(self, signal, dispatch_uid: str, *, sender=None) -> None:
        """Disconnect at the end what the code under test connected as ``dispatch_uid``
        (``receiver_for(..., dispatch_uid=...)`` connects ``f"{uid}:{topic}"``)."""
        self._undo.append(lambda: signal.disconnect(sender=sender, dispatch_uid=dispatch_uid))

    def disconnect_all(self) -> None:
        while self._undo:
            self._undo.pop()()


@pytest.fixture
def connect():
    """Connect a receiver for one test; it is disconnected afterwards, whatever happened::

    def test_x(client, connect):
        connect(order_created, grant_access)
    """
    connections = Connections()
    try:
        yield connections
    finally:
        connections.disconnect_all()


@pytest.fixture
def atomic_requests():
    """``ATOMIC_REQUESTS`` on for one test, as a site that wraps each request in a transaction."""
    from django.db import connections

    connections["default"].settings_dict["ATOMIC_REQUESTS"] = True
    try:
        yield
    finally:
        connections["default"].settings_dict["ATOMIC_REQUESTS"] = False


@pytest.fixture
def failing_receiver(connect):
    """A ``webhook_received`` receiver that raises ``RuntimeError: handler bug: no such course``."""
    from django_thinkific.signals import webhook_received

    def explode(sender, event, **kwargs):
        raise RuntimeError("handler bug: no such course")

    return connect(webhook_received, explode)


@pytest.fixture
def target():
    """Intercepts HTTP to target URLs (send-test), nothing else; an unregistered URL is refused."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
