"""Review 1: REST error shapes.

README (Errors): "malformed request (a field missing, not a string) | 400 |
`{"target_url": ["This field is required."]}`", and a 422 only for a webhook
"refused, by our own check first or by Thinkific". A JSON number where a string
belongs is coerced to text by DRF's CharField and answered 422 as if Thinkific's
rule had refused a string.
"""

import json

import pytest

from tests.test_rest_edges import SUBSCRIPTIONS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "body",
    [
        {"topic": 123, "target_url": "https://shop.acme.io/hook"},
        {"topic": 1.5, "target_url": "https://shop.acme.io/hook"},
        {"topic": "order.created", "target_url": 5},
    ],
    ids=["int-topic", "float-topic", "int-url"],
)
def test_a_number_where_a_string_belongs_is_a_400(staff_api, fake_api, body):
    response = staff_api.post(SUBSCRIPTIONS, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, (response.status_code, response.content)
    wrong = next(field for field, value in body.items() if not isinstance(value, str))
    assert response.json() == {wrong: ["Not a valid string."]}  # names the field
    assert not fake_api.calls


def test_the_same_digits_as_a_string_are_judged_by_the_topic_rule(staff_api, fake_api):
    # The control: a string is a well-formed request, refused by the topic rule (422).
    body = {"topic": "123", "target_url": "https://shop.acme.io/hook"}
    response = staff_api.post(SUBSCRIPTIONS, json.dumps(body), content_type="application/json")
    assert response.status_code == 422, (response.status_code, response.content)
    assert not fake_api.calls


def test_a_number_in_a_patch_is_a_400(staff_api, fake_api):
    from tests.factories import SubscriptionFactory

    sub = SubscriptionFactory()
    response = staff_api.patch(
        f"{SUBSCRIPTIONS}{sub.pk}/", json.dumps({"topic": 42}), content_type="application/json"
    )
    assert response.status_code == 400, (response.status_code, response.content)
    assert response.json() == {"topic": ["Not a valid string."]}
    assert not fake_api.calls
    sub.refresh_from_db()
    assert sub.topic != "42"
