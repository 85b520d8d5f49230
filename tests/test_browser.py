"""The admin in a real browser: Debian's Chromium driven by Playwright.

The site runs in pytest-django's live server; Thinkific is the fake API
served over HTTP on loopback, so the whole path is real: the admin form calls
the fake, "Send test event" POSTs a signed event to the site's own receiver.
"""

import os

import pytest

from django_thinkific.services.subscriptions import _client_for
from django_thinkific.testing.fake_api import FakeThinkificAPI
from tests.db_plugin import chromium_path
from tests.factories import ReceivedEventFactory
from tests.settings import API_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the ORM calls the
    # test makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install -y chromium); CI is set")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="en-US")
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture
def fake_thinkific(thinkific):
    fake = FakeThinkificAPI(api_key=API_KEY, allow_insecure_targets=True)
    with fake.serve() as url:
        thinkific(API_BASE_URL=url, ALLOW_INSECURE_TARGETS=True)
        _client_for.cache_clear()
        yield fake
    _client_for.cache_clear()


def test_add_subscription_send_test_event_and_see_it_arrive(
    page, live_server, fake_thinkific, django_user_model
):
    assert os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] == "true"
    django_user_model.objects.create_superuser("admin", "admin@example.com", "correct horse")
    ReceivedEventFactory(topic="user.signup", event_id="11111111111111111111111")

    # Log in.
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct horse")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    # An http:// target on a public host is refused with a form error; nothing is created.
    page.goto(f"{live_server.url}/admin/django_thinkific/subscription/add/")
    page.select_option("#id_topic", "order.created")
    page.fill("#id_target_url", "http://shop.acme.io/thinkific/webhooks/")
    page.click("input[name=_save]")
    error = page.locator(".errorlist").first
    assert "Thinkific refused this URL (is not valid): it must use https" in error.inner_text()
    assert fake_thinkific.webhooks == {}

    # The site's own receiver (loopback, allowed for local development) is accepted.
    target = f"{live_server.url}/thinkific/webhooks/"
    page.fill("#id_target_url", target)
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist")
    assert "was added successfully" in page.locator("ul.messagelist").inner_text()
    assert [w["target_url"] for w in fake_thinkific.webhooks.values()] == [target]
    assert target in page.locator("#result_list").inner_text()

    # Send a test event to it.
    page.check("#result_list input.action-select")
    page.select_option("select[name=action]", "send_test_event_action")
    page.click("#changelist-form button[name=index]")
    page.wait_for_selector("ul.messagelist")
    assert "The target answered HTTP 200." in page.locator("ul.messagelist").inner_text()

    # It arrived: in the received-events list, with the chart above it.
    page.goto(f"{live_server.url}/admin/django_thinkific/receivedevent/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert page.locator("figure.thinkific-chart svg").count() == 1
    listing = page.locator("#result_list").inner_text()
    assert "order.created" in listing
    assert "processed" in listing

    # Filter by topic.
    page.locator("#changelist-filter a", has_text="order.created").first.click()
    page.wait_for_url("**topic__exact=order.created**")
    assert rows.count() == 1
    filtered = page.locator("#result_list").inner_text()
    assert "order.created" in filtered
    assert "user.signup" not in filtered
