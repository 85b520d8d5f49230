"""errors.py: every public error, the answer each delivery error carries, the old names."""

import logging

import pytest

from django_thinkific import errors
from django_thinkific.testing import post_event, sample_event


@pytest.mark.parametrize(
    ("exc", "status", "detail", "headers"),
    [
        (errors.SignatureError("wrong"), 401, "invalid signature", {}),
        (errors.EnvelopeError("'id' is missing"), 400, "'id' is missing", {}),
        (errors.TooOld("too old"), 400, "too old", {}),
        (
            errors.BodyTooLarge("body is larger than 5 bytes"),
            413,
            "body is larger than 5 bytes",
            {},
        ),
        (
            errors.LengthRequired(),
            411,
            "a chunked body cannot be read by this server; send a Content-Length",
            {},
        ),
        (
            errors.StorageUnavailable("server closed the connection"),
            503,
            "event could not be stored, retry later",
            {},
        ),
        (
            errors.InFlight("evt-1"),
            503,
            "event is being processed; retry later",
            {"Retry-After": "10"},
        ),
    ],
)
def test_each_delivery_error_carries_its_answer(exc, status, detail, headers):
    assert (exc.status_code, exc.detail, dict(exc.headers)) == (status, detail, headers)


def test_the_database_error_is_logged_never_answered():
    exc = errors.StorageUnavailable("password authentication failed for user x")
    assert "password" not in exc.detail
    assert exc.log_traceback


def test_envelope_errors_are_still_value_errors():
    assert issubclass(errors.EnvelopeError, ValueError)
    assert issubclass(errors.TooOld, errors.EnvelopeError)


def test_the_old_names_still_import():
    from django_thinkific.errors import AuthenticationFailed, NotFound
    from django_thinkific.services import receiving
    from django_thinkific.services.envelope import EnvelopeError
    from django_thinkific.services.test_events import TestDelivery, send_test_event

    assert AuthenticationFailed is errors.APIKeyRefused
    assert NotFound is errors.RecordNotFound
    assert EnvelopeError is errors.EnvelopeError
    for name in ("SignatureError", "StorageUnavailable", "InFlight", "TooOld"):
        assert getattr(receiving, name) is getattr(errors, name)
    from django_thinkific.services import sending

    assert (TestDelivery, send_test_event) == (sending.SentTestEvent, sending.send_test_event)


def test_no_public_name_shadows_drf_or_django():
    import django.core.exceptions
    import django.http
    import rest_framework.exceptions

    canonical = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, BaseException) and value.__name__ == name
    }
    taken = set(vars(rest_framework.exceptions)) | set(vars(django.core.exceptions))
    assert canonical & (taken | set(vars(django.http))) == set()


@pytest.mark.django_db
def test_the_view_answers_and_logs_what_the_error_carries(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django_thinkific.webhooks"):
        response = post_event(client, sample_event("order.created"), secret="wrong")
    assert (response.status_code, response.json()) == (401, {"error": "invalid signature"})
    (record,) = [r for r in caplog.records if r.name == "django_thinkific.webhooks"]
    assert record.getMessage() == "Refused a Thinkific delivery from 127.0.0.1: wrong signature"
