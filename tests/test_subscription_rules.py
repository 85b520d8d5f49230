"""One local rule for a webhook (issue 10, item 4): admin, REST API and services agree,
and nothing reaches Thinkific before every local rule has passed."""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains

from django_thinkific.errors import ValidationFailed
from django_thinkific.models import Subscription
from django_thinkific.services import subscriptions
from tests.factories import SubscriptionFactory

pytestmark = pytest.mark.django_db
ADMIN = "/admin/django_thinkific/subscription/"
REST = "/thinkific/api/subscriptions/"
GOOD = "https://shop.acme.io/thinkific/webhooks/"

# Each passes Thinkific's rule as the fake applies it, and breaks the model's URLValidator.
BAD_URLS = [
    "https://shop_eu.acme.io/hook",  # an underscore in the host name
    "https://shop.acme.io/web hooks/",  # a space in the path
    "https://hooks.acme.123/",  # a numeric top-level domain
    "https://shop.acme.io/" + "a" * 2000,  # longer than the column
]


def creates(fake_api):
    return [call for call in fake_api.calls if call[0] == "POST"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_admin_add_refuses_before_calling_thinkific(admin_client, fake_api, url):
    response = admin_client.post(f"{ADMIN}add/", {"topic": "order.created", "target_url": url})
    assert response.status_code == 200
    html = response.content.decode()
    assert "errornote" in html
    assert creates(fake_api) == []
    assert fake_api.webhooks == {}
    assert not Subscription.objects.exists()
    # Submitting again still creates nothing anywhere.
    admin_client.post(f"{ADMIN}add/", {"topic": "order.created", "target_url": url})
    assert fake_api.calls == []


@pytest.mark.parametrize("url", BAD_URLS)
def test_admin_change_refuses_before_calling_thinkific(admin_client, fake_api, url):
    remote = fake_api.add_webhook("order.created", GOOD)
    sub = SubscriptionFactory(thinkific_id=remote["id"], topic="order.created", target_url=GOOD)
    response = admin_client.post(
        f"{ADMIN}{sub.pk}/change/", {"topic": "order.created", "target_url": url}
    )
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert fake_api.calls == []
    assert fake_api.webhooks[remote["id"]]["target_url"] == GOOD
    sub.refresh_from_db()
    assert sub.target_url == GOOD


@pytest.mark.parametrize("url", BAD_URLS)
def test_rest_create_refuses_before_calling_thinkific(staff_api, fake_api, url):
    response = staff_api.post(REST, {"topic": "order.created", "target_url": url}, format="json")
    assert response.status_code in (400, 422), response.content
    assert "target_url" in response.json()
    assert fake_api.calls == []
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("url", BAD_URLS)
def test_rest_update_refuses_before_calling_thinkific(staff_api, fake_api, url):
    remote = fake_api.add_webhook("order.created", GOOD)
    sub = SubscriptionFactory(thinkific_id=remote["id"], topic="order.created", target_url=GOOD)
    response = staff_api.patch(f"{REST}{sub.pk}/", {"target_url": url}, format="json")
    assert response.status_code in (400, 422), response.content
    assert fake_api.calls == []
    sub.refresh_from_db()
    assert sub.target_url == GOOD


@pytest.mark.parametrize("url", BAD_URLS)
def test_service_refuses_with_thinkifics_message(fake_api, url):
    with pytest.raises(ValidationFailed) as info:
        subscriptions.create("order.created", url)
    assert info.value.errors == {"target_url": ["is not valid"]}
    assert fake_api.calls == []


def test_admin_add_writes_the_row_only_in_save(admin_client, fake_api, monkeypatch):
    """The form's validation calls Thinkific; the row is written by ``save()``, not ``clean()``."""
    from django_thinkific.admin.forms import SubscriptionForm

    form = SubscriptionForm(data={"topic": "order.created", "target_url": GOOD})
    assert form.is_valid(), form.errors
    assert len(creates(fake_api)) == 1
    assert not Subscription.objects.exists()
    sub = form.save()
    assert Subscription.objects.get() == sub
    assert sub.thinkific_id in fake_api.webhooks


# --- admin and REST accept and refuse the same URLs -------------------------------------

hosts = st.one_of(
    domains(),
    st.from_regex(r"\A[a-z0-9_\-]{1,20}(\.[a-z0-9_\-]{1,20}){1,3}\.?\Z"),
    st.from_regex(r"\A[a-z]{1,10}\.(123|[0-9]{1,3}|xn--p1ai|рф|中国|co)\.?\Z"),
    st.sampled_from(
        [
            "bücher.de",
            "例え.jp",
            "xn--bcher-kva.de",
            "localhost",
            "127.0.0.1",
            "127.1",
            "[::1]",
            "shop.acme.io.",
            "acme.thinkific.com",
            "a" * 64 + ".acme.io",
            "a" * 63 + ".acme.io",
            "-shop.acme.io",
            "shop-.acme.io",
            "shop..acme.io",
        ]
    ),
)
path_chars = st.characters(
    codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"
) | st.sampled_from(" \t\r\n\u200b\u00a0%#?/")
urls = st.one_of(
    st.builds(
        lambda scheme, host, port, path: f"{scheme}://{host}{port}/{path}",
        st.sampled_from(["https", "http", "ftp", "HTTPS", "hxxps"]),
        hosts,
        st.sampled_from(["", ":443", ":8443", ":0", ":99999", ":x"]),
        st.text(path_chars, max_size=40) | st.text("a/", min_size=1990, max_size=2010),
    ),
    st.text(max_size=60).filter(lambda s: "\x00" not in s),
)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(url=urls)
@example(url="https://shop_eu.acme.io/hook")
@example(url="https://shop.acme.io/web hooks/")
@example(url="https://hooks.acme.123/")
@example(url="https://shop.acme.io./hook")
@example(url="https://bücher.de/hook")
@example(url=" https://shop.acme.io/hook ")
def test_admin_and_rest_agree_on_every_url(admin_client, staff_api, fake_api, url):
    Subscription.objects.all().delete()
    fake_api.webhooks.clear()
    fake_api.calls.clear()

    admin = admin_client.post(f"{ADMIN}add/", {"topic": "order.created", "target_url": url})
    assert admin.status_code in (200, 302)
    admin_accepted = admin.status_code == 302
    admin_creates = len(creates(fake_api))
    assert Subscription.objects.count() == admin_creates == int(admin_accepted)

    Subscription.objects.all().delete()
    fake_api.webhooks.clear()
    fake_api.calls.clear()
    api = staff_api.post(REST, {"topic": "order.created", "target_url": url}, format="json")
    assert api.status_code in (201, 400, 422), api.content
    rest_accepted = api.status_code == 201
    assert len(creates(fake_api)) == int(rest_accepted)
    assert Subscription.objects.count() == int(rest_accepted)

    assert admin_accepted == rest_accepted, (url, admin.status_code, api.status_code)
