"""Review 3: django_thinkific.testing used as a site's developer would (README)."""

import pytest

from django_thinkific.models import ReceivedEvent
from django_thinkific.testing import capture_events, post_event, sample_event


@pytest.mark.django_db
def test_sample_event_is_accepted_by_a_site_that_sets_max_event_age(client, thinkific):
    """README: ``sample_event`` is "a delivery envelope with a fresh 23-digit id" and the
    README's own example asserts ``post_event(client, event).status_code == 200``. A site
    that turned MAX_EVENT_AGE on (README: for replays older than the window) gets 400 for
    every bundled sample: they keep Thinkific's documentation dates (2014 to 2023) while
    the id says "now"."""
    thinkific(MAX_EVENT_AGE=30)
    event = sample_event("order.created", payload={"product_id": 7})
    response = post_event(client, event)
    assert response.status_code == 200, response.content
    assert ReceivedEvent.objects.filter(event_id=event["id"]).exists()


@pytest.mark.django_db
def test_the_readme_receiver_test_works_with_celery_dispatch_and_no_broker(client, thinkific):
    """README: with no broker (task_always_eager) "the task runs in the request, once:
    the answer reports its outcome". The README's own example test is a plain
    ``@pytest.mark.django_db`` test; inside that test transaction the task is queued
    with ``on_commit`` and never ran, so the receiver was not called: ``post_event``
    now runs what the delivery queued, as the commit would have."""
    thinkific(DISPATCH="celery")
    with capture_events("order.created") as calls:
        response = post_event(client, "order.created")
    assert response.status_code == 200
    assert len(calls) == 1
    # The task ran when the delivery "committed", after its answer was written.
    assert ReceivedEvent.objects.get().status == "processed"
