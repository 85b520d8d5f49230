"""Subscriptions in the admin: every path goes to Thinkific first, every refusal reads plainly."""

import json

import pytest
import responses

from django_thinkific.models import Subscription
from django_thinkific.testing import sign
from tests.factories import ReceivedEventFactory, SubscriptionFactory, staff_user
from tests.settings import API_KEY

pytestmark = pytest.mark.django_db
BASE = "/admin/django_thinkific/subscription/"
URL = "https://shop.acme.io/thinkific/webhooks/"


def text(response):
    return response.content.decode()


def test_changelist_columns_filters_and_sync_button(admin_client):
    SubscriptionFactory(topic="order.created", status="active", thinkific_id="111")
    SubscriptionFactory(topic="enrollment.completed", status="inactive", thinkific_id="222")
    html = text(admin_client.get(BASE))
    for heading in ("Topic", "Target URL", "Status", "Thinkific ID", "Last synced"):
        assert heading in html
    assert "Sync from Thinkific" in html
    assert "111" in text(admin_client.get(BASE, {"topic": "order.created"}))
    assert "222" not in text(admin_client.get(BASE, {"topic": "order.created"}))
    assert "111" not in text(admin_client.get(BASE, {"status": "inactive"}))


def test_add_creates_at_thinkific_then_here(admin_client, fake_api):
    response = admin_client.post(f"{BASE}add/", {"topic": "order.created", "target_url": URL})
    assert response.status_code == 302
    sub = Subscription.objects.get()
    assert fake_api.webhooks[sub.thinkific_id]["target_url"] == URL
    assert sub.created_by == "156118"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://shop.acme.io/hook",
            "This URL cannot receive webhooks from Thinkific: it must use https",
        ),
        ("https://localhost/hook", "not localhost"),
        ("not a url", "Checked here; nothing was sent to Thinkific."),
    ],
)
def test_add_refused_locally_shows_form_error_and_calls_nothing(
    admin_client, fake_api, url, expected
):
    response = admin_client.post(f"{BASE}add/", {"topic": "order.created", "target_url": url})
    assert response.status_code == 200
    assert expected in text(response)
    assert "Thinkific refused" not in text(response)  # a check made here, not Thinkific's
    assert "errornote" in text(response)
    assert fake_api.calls == []
    assert not Subscription.objects.exists()


def test_add_refused_by_thinkific_422_shows_field_error(admin_client, fake_api):
    fake_api.fail_next(422, {"errors": {"topic": ["invalid format"]}})
    response = admin_client.post(f"{BASE}add/", {"topic": "order.created", "target_url": URL})
    assert response.status_code == 200
    assert "Thinkific refused this topic (invalid format)." in text(response)
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": "Unauthorized"}, "Thinkific refused the API key (401)"),
    ],
)
def test_add_refused_for_other_reasons_shows_plain_message(
    admin_client, fake_api, status, body, expected
):
    fake_api.fail_next(status, body)
    response = admin_client.post(f"{BASE}add/", {"topic": "order.created", "target_url": URL})
    assert response.status_code == 200
    assert f"Thinkific did not accept the change: {expected}. Nothing was changed." in text(
        response
    )
    assert not Subscription.objects.exists()


def test_add_when_thinkific_is_unreachable(admin_client, thinkific):
    from django_thinkific.services.subscriptions import _client_for

    thinkific(API_BASE_URL="http://127.0.0.1:9/api/v2", API_TIMEOUT=1)
    _client_for.cache_clear()
    response = admin_client.post(f"{BASE}add/", {"topic": "order.created", "target_url": URL})
    _client_for.cache_clear()
    assert response.status_code == 200
    html = text(response)
    assert "Thinkific could not be reached" in html
    assert "Please correct" not in html  # nothing in the form to correct
    assert API_KEY not in html
    assert not Subscription.objects.exists()


def test_change_updates_thinkific_then_here(admin_client, fake_api):
    remote = fake_api.add_webhook("order.created", URL)
    sub = SubscriptionFactory(thinkific_id=remote["id"], topic="order.created", target_url=URL)
    response = admin_client.post(
        f"{BASE}{sub.pk}/change/",
        {"topic": "enrollment.completed", "target_url": "https://b.acme.io/h"},
    )
    assert response.status_code == 302
    sub.refresh_from_db()
    assert (sub.topic, sub.target_url) == ("enrollment.completed", "https://b.acme.io/h")
    assert fake_api.webhooks[remote["id"]]["topic"] == "enrollment.completed"


def test_change_refused_changes_nothing(admin_client, fake_api):
    remote = fake_api.add_webhook("order.created", URL)
    sub = SubscriptionFactory(thinkific_id=remote["id"], topic="order.created", target_url=URL)
    fake_api.fail_next(422, {"errors": {"url": "is not valid"}})
    response = admin_client.post(
        f"{BASE}{sub.pk}/change/", {"topic": "order.created", "target_url": URL + "x"}
    )
    assert response.status_code == 200
    assert "Thinkific refused this URL (is not valid)" in text(response)
    sub.refresh_from_db()
    assert sub.target_url == URL


def test_change_page_shows_thinkific_fields_read_only(admin_client):
    sub = SubscriptionFactory(thinkific_id="20200227213233625839530", created_by="156118")
    html = text(admin_client.get(f"{BASE}{sub.pk}/change/"))
    assert "20200227213233625839530" in html
    assert 'name="thinkific_id"' not in html


def test_delete_goes_to_thinkific_first(admin_client, fake_api):
    remote = fake_api.add_webhook("order.created", URL)
    sub = SubscriptionFactory(thinkific_id=remote["id"])
    response = admin_client.post(f"{BASE}{sub.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert fake_api.webhooks == {}
    assert not Subscription.objects.exists()


def test_delete_of_webhook_already_gone_at_thinkific(admin_client, fake_api):
    sub = SubscriptionFactory(thinkific_id="gone")
    response = admin_client.post(f"{BASE}{sub.pk}/delete/", {"post": "yes"}, follow=True)
    assert "Thinkific had already deleted this webhook" in text(response)
    assert not Subscription.objects.exists()


def test_delete_refused_keeps_the_row_and_says_why(admin_client, fake_api):
    remote = fake_api.add_webhook("order.created", URL)
    sub = SubscriptionFactory(thinkific_id=remote["id"])
    fake_api.fail_next(401, {"error": "Unauthorized"})
    response = admin_client.post(f"{BASE}{sub.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert "Thinkific refused the API key (401). Nothing was changed." in text(response)
    assert Subscription.objects.filter(pk=sub.pk).exists()
    assert remote["id"] in fake_api.webhooks


def test_bulk_delete_confirms_then_reports_each(admin_client, fake_api):
    ok = SubscriptionFactory(thinkific_id=fake_api.add_webhook("order.created", URL)["id"])
    refused = SubscriptionFactory(thinkific_id=fake_api.add_webhook("user.signup", URL)["id"])
    form = {"action": "delete_selected", "_selected_action": [ok.pk, refused.pk]}
    confirm = admin_client.post(BASE, form)
    assert confirm.status_code == 200
    assert "Are you sure" in text(confirm)
    assert Subscription.objects.count() == 2
    fake_api.fail_next(500, times=4, only=f"DELETE /webhooks/{refused.thinkific_id}")
    done = admin_client.post(BASE, {**form, "post": "yes"}, follow=True)
    html = text(done)
    assert f"Deleted: {ok}." in html.replace("&gt;", ">")
    assert "Not deleted, nothing changed for these:" in html
    assert "server error (500)" in html
    assert list(Subscription.objects.values_list("pk", flat=True)) == [refused.pk]


def test_send_test_event_reports_the_status(admin_client, fake_api):
    sub = SubscriptionFactory(topic="enrollment.completed", target_url=URL)
    received = []

    def target(request):
        received.append(request)
        return 202, {}, b"<script>alert('not reflected')</script>"

    fake_api.responses.add_callback("POST", URL, callback=target)
    response = admin_client.post(
        BASE, {"action": "send_test_event_action", "_selected_action": [sub.pk]}, follow=True
    )
    html = text(response)
    assert "The target answered HTTP 202." in html
    assert "not reflected" not in html
    (request,) = received
    body = request.body
    assert request.headers["X-Thinkific-Hmac-Sha256"] == sign(body, API_KEY)
    assert request.headers["X-Thinkific-Topic"] == "enrollment.completed"
    event = json.loads(body)
    assert (event["resource"], event["action"]) == ("enrollment", "completed")
    assert request.req_kwargs["timeout"] == 5.0


def test_send_test_event_does_not_follow_redirects(admin_client, fake_api):
    sub = SubscriptionFactory(target_url=URL)
    fake_api.responses.add("POST", URL, status=302, headers={"Location": "https://evil.acme.io/x"})
    elsewhere = fake_api.responses.add("POST", "https://evil.acme.io/x", status=200)
    html = text(
        admin_client.post(
            BASE, {"action": "send_test_event_action", "_selected_action": [sub.pk]}, follow=True
        )
    )
    assert "The target answered HTTP 302." in html
    assert elsewhere.call_count == 0


def test_send_test_event_failure_is_a_message(admin_client, fake_api):
    import requests

    sub = SubscriptionFactory(target_url=URL)
    fake_api.responses.add("POST", URL, body=requests.ConnectionError("refused"))
    html = text(
        admin_client.post(
            BASE, {"action": "send_test_event_action", "_selected_action": [sub.pk]}, follow=True
        )
    )
    assert (
        "The test event was not delivered: the target could not be reached (ConnectionError)."
        in html
    )


def test_send_test_event_refuses_an_http_target(admin_client, fake_api):
    sub = SubscriptionFactory(target_url="http://shop.acme.io/hook")
    html = text(
        admin_client.post(
            BASE, {"action": "send_test_event_action", "_selected_action": [sub.pk]}, follow=True
        )
    )
    assert "target url is not valid" in html


def test_sync_button(admin_client, fake_api):
    fake_api.add_webhook("order.created", URL)
    SubscriptionFactory(thinkific_id="gone-remotely")
    response = admin_client.post(f"{BASE}sync/", follow=True)
    synced = "Synced 1 webhook from Thinkific in 1 page: 1 created, 0 updated, 1 removed."
    assert synced in text(response)
    assert Subscription.objects.get().target_url == URL


def test_sync_failure_is_an_error_message(admin_client, fake_api):
    SubscriptionFactory()
    fake_api.fail_next(401, {"error": "Unauthorized"})
    response = admin_client.post(f"{BASE}sync/", follow=True)
    assert "Sync failed: Thinkific refused the API key (401). Nothing was changed." in text(
        response
    )
    assert Subscription.objects.count() == 1


def test_sync_button_needs_post_and_change_permission(client, fake_api):
    client.force_login(staff_user("view_subscription", username="viewer"))
    assert "Sync from Thinkific" not in text(client.get(BASE))
    assert client.post(f"{BASE}sync/").status_code == 403
    assert fake_api.calls == []


def test_sync_view_refuses_get(admin_client):
    assert admin_client.get(f"{BASE}sync/").status_code == 405


def test_actions_need_change_permission(client, fake_api):
    client.force_login(staff_user("view_subscription", username="viewer"))
    sub = SubscriptionFactory(target_url=URL)
    html = text(client.get(BASE))
    assert "send_test_event_action" not in html
    assert "sync_action" not in html
    client.post(BASE, {"action": "send_test_event_action", "_selected_action": [sub.pk]})
    assert fake_api.calls == []
    assert responses  # the fake's mock stayed silent: no test event was sent


# --- issue 12: the add form, the wording of refusals, the heading, delete, sync -----------


def test_the_add_form_preselects_no_topic_and_groups_them_by_resource(admin_client):
    import re

    from django_thinkific.topics import TOPICS

    html = text(admin_client.get(f"{BASE}add/"))
    select = html.split('<select name="topic"', 1)[1].split("</select>", 1)[0]
    # a blank first choice, the only one selected
    assert re.search(r'^\s*required[^>]*>\s*<option value="" selected>-+</option>', select)
    assert select.count("selected") == 1
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', select, re.S)
    resources = [label for label, _ in groups]
    assert resources == sorted(resources)
    assert {"order", "enrollment", "user", "order_transaction"} <= set(resources)
    offered = []
    for label, options in groups:
        names = re.findall(r'<option value="([^"]+)"', options)
        assert names == sorted(names)
        assert all(name.startswith(label + ".") for name in names)
        offered += names
    assert sorted(offered) == sorted(TOPICS)


def test_a_forgotten_topic_is_an_error_not_lead_created(admin_client, fake_api):
    response = admin_client.post(f"{BASE}add/", {"topic": "", "target_url": URL})
    assert response.status_code == 200
    assert "This field is required." in text(response)
    assert fake_api.calls == []
    assert not Subscription.objects.exists()
    response = admin_client.post(f"{BASE}add/", {"target_url": URL})
    assert "This field is required." in text(response)
    response = admin_client.post(f"{BASE}add/", {"topic": "no.such\x00", "target_url": URL})
    assert response.status_code == 200
    assert fake_api.calls == []


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "times": 4},
        {"status": 429, "times": 4, "headers": {"Retry-After": "0"}},
    ],
    ids=["server-error", "rate-limited"],
)
def test_add_when_thinkific_fails_is_a_message_at_the_top_and_the_form_is_kept(
    admin_client, fake_api, failure
):
    fake_api.fail_next(failure["status"], times=failure["times"], headers=failure.get("headers"))
    response = admin_client.post(f"{BASE}add/", {"topic": "user.signup", "target_url": URL})
    assert response.status_code == 200
    html = text(response)
    assert "Please correct" not in html
    assert '<ul class="errorlist' not in html
    messages = html.split('<ul class="messagelist">', 1)[1].split("</ul>", 1)[0]
    assert "Thinkific could not be reached or did not answer" in messages
    assert "nothing was changed, here or at Thinkific" in messages
    assert messages.index("Thinkific") < html.index('id="subscription_form"') - html.index(
        '<ul class="messagelist">'
    )  # the message comes before the form
    assert f'value="{URL}"' in html  # as entered
    assert '<option value="user.signup" selected>' in html
    assert not Subscription.objects.exists()


def test_after_a_refused_change_the_heading_shows_the_stored_url(admin_client, fake_api):
    remote = fake_api.add_webhook("order.created", URL)
    sub = SubscriptionFactory(thinkific_id=remote["id"], topic="order.created", target_url=URL)
    refused = "https://refused.acme.io/hook"
    for attempt in ("local", "thinkific"):
        if attempt == "thinkific":
            fake_api.fail_next(422, {"errors": {"url": "is not valid"}})
            posted = refused
        else:
            posted = "http://refused.acme.io/hook"  # refused here: http
        response = admin_client.post(
            f"{BASE}{sub.pk}/change/", {"topic": "order.created", "target_url": posted}
        )
        html = text(response).replace("&gt;", ">")
        assert response.status_code == 200
        assert f'value="{posted}"' in html  # the form keeps what was entered
        head = html.split('id="subscription_form"', 1)[0]
        assert f"order.created → {URL}" in head  # the heading: the stored row
        assert posted not in head
    sub.refresh_from_db()
    assert sub.target_url == URL


def test_the_thinkific_refusal_is_worded_as_thinkifics(admin_client, fake_api):
    fake_api.fail_next(422, {"errors": {"url": "is not valid"}})
    response = admin_client.post(f"{BASE}add/", {"topic": "order.created", "target_url": URL})
    html = text(response)
    assert "Thinkific refused this URL (is not valid)" in html
    assert "Checked here" not in html


def test_the_delete_page_says_thinkific_deletes_it_too(admin_client):
    sub = SubscriptionFactory()
    html = text(admin_client.get(f"{BASE}{sub.pk}/delete/"))
    assert "This deletes the webhook at Thinkific too" in html
    assert "Are you sure" in html


def test_the_bulk_delete_confirmation_says_thinkific_deletes_them_too(admin_client):
    subs = SubscriptionFactory.create_batch(2)
    form = {"action": "delete_selected", "_selected_action": [s.pk for s in subs]}
    html = text(admin_client.post(BASE, form))
    assert "This deletes these 2 webhooks at Thinkific too" in html
    assert Subscription.objects.count() == 2


def test_sync_is_a_button_only_not_an_action(admin_client, fake_api):
    sub = SubscriptionFactory()
    html = text(admin_client.get(BASE))
    assert 'value="sync_action"' not in html
    assert f'action="{BASE}sync/"' in html
    assert ">Sync from Thinkific</button>" in html
    response = admin_client.post(
        BASE, {"action": "sync_action", "_selected_action": [sub.pk]}, follow=True
    )
    assert response.status_code == 200
    assert fake_api.calls == []  # no such action any more: nothing synced


def test_created_by_is_explained_on_the_change_page(admin_client):
    sub = SubscriptionFactory(created_by="156118")
    html = text(admin_client.get(f"{BASE}{sub.pk}/change/"))
    assert "156118" in html
    assert "The Thinkific user who created this webhook at Thinkific" in html


def test_labels_are_capitalised_alike(admin_client):
    SubscriptionFactory()
    ReceivedEventFactory()
    headings = text(admin_client.get(BASE)) + text(
        admin_client.get("/admin/django_thinkific/receivedevent/")
    )
    for label in ("Thinkific ID", "Target URL", "Last synced", "Event ID", "Tenant ID"):
        assert label in headings, label
    for old in ("Thinkific id", "Event id", "Tenant id", "Processing attempts"):
        assert old not in headings, old


@pytest.mark.parametrize("q", ["x " * 1100, "x" * 60000])
def test_a_search_sqlite_cannot_run_is_a_bad_lookup_or_no_match_not_a_500(admin_client, q):
    """As for the events' list: too many words is ``?e=1``, a term longer than every
    searched column (the target URL's 2,000) matches nothing; neither reaches SQLite."""
    SubscriptionFactory(target_url=URL)
    response = admin_client.get(BASE, {"q": q})
    if " " in q:
        assert (response.status_code, response["Location"]) == (302, f"{BASE}?e=1")
    else:
        assert response.status_code == 200
        assert "0 Thinkific webhooks" in text(response)
    assert admin_client.get(BASE, {"q": "acme"}).content.decode().count(URL) >= 1
