"""Review 3: admin changelist GET parameters that reach the database unchecked."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/admin/django_thinkific/receivedevent/?pk__regex=(",
        "/admin/django_thinkific/subscription/?pk__regex=(",
    ],
)
def test_a_pk_lookup_is_checked_like_an_id_lookup(admin_client, url):
    """README/lookups: bad GET parameters end as ?e=1 "never a 500"; a lookup
    none of the filters writes (``__regex``) is refused. ``pk`` is an alias of
    ``id`` that skips the check."""
    from tests.factories import ReceivedEventFactory, SubscriptionFactory

    ReceivedEventFactory()
    SubscriptionFactory()
    response = admin_client.get(url)
    assert response.status_code == 302
    assert "e=1" in response["Location"]
