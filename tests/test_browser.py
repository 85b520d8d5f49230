"""The admin in a real browser: Debian's Chromium driven by Playwright.

The site runs in pytest-django's live server; Thinkific is the fake API
served over HTTP on loopback, so the whole path is real: the admin form calls
the fake, "Send test event" POSTs a signed event to the site's own receiver.
"""

import itertools
import os
import re
from pathlib import Path

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
    assert "This URL cannot receive webhooks from Thinkific: it must use" in error.inner_text()
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


# --- issue 12: every admin screen at 1280 and 1600 px, light and dark ----------------------

#: Where the screenshots go, for a person to look at (tests/screenshots/, ignored by git).
SCREENSHOTS = Path(os.environ.get("THINKIFIC_SCREENSHOTS") or Path(__file__).parent / "screenshots")
WIDTHS = (1280, 1600)
THEMES = ("light", "dark")
EVENT_COLUMNS = ("event_id", "topic", "status", "tenant_id", "site", "received", "attempts")
LONG_URL = "https://courses.acme-academy.io/integrations/thinkific/webhooks/receive/"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "shop/receivers.py", line 12, in grant_access\n'
    "    Access.objects.create(user=user, product_id=payload['product_id'])\n"
    "KeyError: 'product_id'"
)


@pytest.fixture
def screens(monkeypatch):
    """A browser per (width, theme); ``shot(page, name)`` saves and returns the file."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install -y chromium); CI is set")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_admin(browser, live_server, width, theme):
    context = browser.new_context(
        locale="en-US", viewport={"width": width, "height": 900}, color_scheme=theme
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct horse")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    return context, page


def shot(page, name, width, theme):
    path = SCREENSHOTS / f"{name}-{width}-{theme}.png"
    page.wait_for_load_state("load")
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")  # shown with -s; the files are for a person
    return path


def assert_fits(page, width):
    """No horizontal scrolling, and the page really is in the theme asked for."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide in a {width} px window"


def assert_columns_visible(page, width, columns):
    """Each column's heading and cells lie inside the list's box, which scrolls nothing
    out of sight, and none is cut."""
    results = page.locator(".results")
    hidden = results.evaluate("el => el.scrollWidth - el.clientWidth")
    assert hidden <= 0, f"the list scrolls {hidden} px sideways"
    right = results.bounding_box()["x"] + results.bounding_box()["width"]
    assert right <= width
    for column in columns:
        cells = page.locator(f"#result_list th.column-{column}, #result_list .field-{column}")
        assert cells.count() >= 2, column
        for i in range(cells.count()):
            box = cells.nth(i).bounding_box()
            assert box is not None, column
            assert box["width"] > 0, column
            assert box["x"] >= 0, (column, box)
            assert box["x"] + box["width"] <= right + 0.5, (column, box)
            clipped = cells.nth(i).evaluate("el => el.scrollWidth > el.clientWidth + 1")
            assert not clipped, f"{column} is cut"


def assert_theme(page, theme):
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert (sum(channels) / 3 < 128) == (theme == "dark"), background


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_admin_screen_fits_and_reads(
    screens, live_server, fake_thinkific, django_user_model, width, theme
):
    from datetime import timedelta

    from django.utils import timezone

    from django_thinkific.models import Subscription

    django_user_model.objects.create_superuser("admin", "admin@example.com", "correct horse")
    for topic in ("order.created", "enrollment.completed", "order_transaction.refunded"):
        remote = fake_thinkific.add_webhook(topic, LONG_URL)
        Subscription.objects.create(
            thinkific_id=remote["id"],
            topic=topic,
            target_url=LONG_URL,
            created_by="156118",
            updated_by="156118",
            remote_created_at=timezone.now(),
            last_synced_at=timezone.now(),
        )
    now = timezone.now()
    for day in range(0, 30, 3):
        for n, status in enumerate(("processed", "failed", "pending")[: 1 + (day // 3) % 3]):
            ReceivedEventFactory(
                event_id=f"2026110{day:02d}1{n}{'3' * 12}"[:23].ljust(23, "7"),
                topic="order_transaction.refunded" if n % 2 else "enrollment.completed",
                status=status,
                tenant_id="8462910",
                site="acme-academy-online",
                attempts=n + 1,
                received_at=now - timedelta(days=day, minutes=n),
            )
    failed = ReceivedEventFactory(
        event_id="20261103141006328188121",
        status="failed",
        attempts=3,
        last_error=TRACEBACK,
        tenant_id="8462910",
        site="acme-academy-online",
    )
    context, page = open_admin(screens, live_server, width, theme)
    base = f"{live_server.url}/admin/django_thinkific"
    try:
        # The webhooks list: every column whole, the sync button, no action for it.
        page.goto(f"{base}/subscription/")
        shot(page, "subscriptions-list", width, theme)
        assert_theme(page, theme)
        assert_fits(page, width)
        assert_columns_visible(
            page, width, ("topic", "target_url", "status", "thinkific_id", "last_synced")
        )
        assert page.locator("button.thinkific-sync-button", has_text="Sync from Thinkific").count()
        assert page.locator("select[name=action] option[value=sync_action]").count() == 0

        # The add form: no topic preselected, topics grouped by resource.
        page.goto(f"{base}/subscription/add/")
        shot(page, "subscription-add", width, theme)
        assert page.locator("#id_topic").input_value() == ""
        groups = page.locator("#id_topic optgroup").evaluate_all("gs => gs.map(g => g.label)")
        assert groups == sorted(groups)
        assert "order" in groups
        assert_fits(page, width)
        # A local refusal, worded as a check made here.
        page.select_option("#id_topic", "order.created")
        page.fill("#id_target_url", "http://shop.acme.io/thinkific/webhooks/")
        page.click("input[name=_save]")
        shot(page, "subscription-add-refused-here", width, theme)
        error = page.locator(".errorlist").first.inner_text()
        assert "Checked here; nothing was sent to Thinkific." in error
        assert "Thinkific refused" not in page.content()
        # Thinkific failing: a message at the top, the form kept, nothing to correct.
        fake_thinkific.fail_next(500, times=4)
        page.fill("#id_target_url", "https://shop.acme.io/thinkific/webhooks/")
        page.click("input[name=_save]")
        shot(page, "subscription-add-thinkific-down", width, theme)
        top = page.locator("ul.messagelist li.error").inner_text()
        assert "Thinkific could not be reached or did not answer" in top
        assert page.locator("p.errornote").count() == 0
        assert page.locator("#id_target_url").input_value().startswith("https://shop.acme.io")
        assert_fits(page, width)

        # A webhook's page: "created by" explained.
        sub = Subscription.objects.order_by("pk").first()
        page.goto(f"{base}/subscription/{sub.pk}/change/")
        shot(page, "subscription-change", width, theme)
        assert "The Thinkific user who created this webhook" in page.content()
        assert_fits(page, width)

        # Both delete confirmations say Thinkific deletes it too.
        page.goto(f"{base}/subscription/{sub.pk}/delete/")
        shot(page, "subscription-delete", width, theme)
        assert page.locator(".thinkific-warning", has_text="at Thinkific too").is_visible()
        assert_fits(page, width)
        page.goto(f"{base}/subscription/")
        page.check("#action-toggle")
        page.select_option("select[name=action]", "delete_selected")
        page.click("#changelist-form button[name=index]")
        shot(page, "subscriptions-delete-selected", width, theme)
        assert page.locator(".thinkific-warning", has_text="3 webhooks at Thinkific too").count()
        assert_fits(page, width)

        # The events list and its chart.
        page.goto(f"{base}/receivedevent/")
        shot(page, "events-list", width, theme)
        assert_fits(page, width)
        assert_columns_visible(
            page,
            width,
            EVENT_COLUMNS,
        )
        labels = page.locator(".thinkific-chart-axis time").all_inner_texts()
        assert len(labels) >= 3
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", label) for label in labels), labels
        assert_labels_apart(page)
        # Filtered by status: the chart counts only what the list shows.
        page.goto(f"{base}/receivedevent/?status__exact=failed")
        shot(page, "events-list-failed", width, theme)
        titles = page.locator(".thinkific-chart svg title").all_text_contents()
        assert all(" 0 processed, 0 pending," in t for t in titles), titles[:3]
        assert "filters and search show" in page.locator(".thinkific-chart figcaption").inner_text()
        assert_fits(page, width)
        print(
            page.evaluate("""() => [...document.querySelectorAll('#result_list thead th')].map(
            t => t.className + ':' + Math.round(t.getBoundingClientRect().width)).join(' ')
            + ' table=' + document.querySelector('#result_list').getBoundingClientRect().width
            + ' results=' + document.querySelector('.results').getBoundingClientRect().width""")
        )
        assert_columns_visible(page, width, EVENT_COLUMNS)

        # A failed event: its error first, and "Process again".
        page.goto(f"{base}/receivedevent/{failed.pk}/change/")
        shot(page, "event-failed", width, theme)
        error_box = page.locator("#thinkific-error").bounding_box()
        first_field = page.locator(".form-row").first.bounding_box()
        assert error_box["y"] + error_box["height"] <= first_field["y"]
        assert error_box["y"] < 900  # on the first screen
        assert "KeyError: 'product_id'" in page.locator("#thinkific-error").inner_text()
        button = page.locator("button.thinkific-process-button", has_text="Process again")
        assert button.is_visible()
        assert_fits(page, width)
        button.click()
        page.wait_for_selector("ul.messagelist")
        shot(page, "event-processed-again", width, theme)
        assert "1 event processed." in page.locator("ul.messagelist").inner_text()
        assert page.locator("#thinkific-error").count() == 0
    finally:
        context.close()


def assert_labels_apart(page):
    """The chart's dates do not overlap one another."""
    boxes = [
        b
        for b in page.locator(".thinkific-chart-axis time").evaluate_all(
            "ts => ts.map(t => { const r = t.getBoundingClientRect(); return [r.left, r.right]; })"
        )
    ]
    for (_, right), (left, _) in itertools.pairwise(boxes):
        assert right < left, boxes
