"""The staff REST API's OpenAPI schema and its Swagger UI page, over HTTP.

The test site has no ``REST_FRAMEWORK`` setting and neither ``drf_spectacular`` nor
the sidecar in ``INSTALLED_APPS``: what a site gets by following the install steps.
"""

import io
import json
import re

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.test import modify_settings
from django.urls import reverse
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from tests.helpers import basic

pytestmark = pytest.mark.django_db

SCHEMA = reverse("django_thinkific:api-schema")
DOCS = reverse("django_thinkific:api-docs")
PREFIX = "/thinkific/api/"


def test_the_test_site_configures_neither_drf_spectacular_nor_drf():
    assert not hasattr(settings, "REST_FRAMEWORK")
    assert not hasattr(settings, "SPECTACULAR_SETTINGS")
    assert "drf_spectacular" not in settings.INSTALLED_APPS
    assert "drf_spectacular_sidecar" not in settings.INSTALLED_APPS
    assert (f"{PREFIX}schema/", f"{PREFIX}docs/") == (SCHEMA, DOCS)


@pytest.mark.parametrize("path", [SCHEMA, DOCS, f"{DOCS}assets/swagger-ui-bundle.js"])
def test_refused_in_json_to_anonymous_and_to_a_member(client, member, path):
    anonymous = client.get(path)
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/json"
    assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
    assert anonymous["WWW-Authenticate"] == 'Basic realm="api"'

    wrong = client.get(path, HTTP_AUTHORIZATION=basic("member", "not-the-password"))
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid username/password."}

    refused = client.get(path, HTTP_AUTHORIZATION=basic("member", "member-pw"))
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/json"
    assert refused.json() == {"detail": "You do not have permission to perform this action."}


def test_schema_in_yaml_and_json_for_staff_valid_openapi_3(client, staff):
    auth = basic("ops", "ops-pw")
    as_yaml = client.get(SCHEMA, HTTP_AUTHORIZATION=auth)
    assert as_yaml.status_code == 200
    assert as_yaml["Content-Type"].startswith("application/vnd.oai.openapi")
    as_json = client.get(SCHEMA, {"format": "json"}, HTTP_AUTHORIZATION=auth)
    assert as_json["Content-Type"].startswith("application/vnd.oai.openapi+json")
    by_accept = client.get(SCHEMA, HTTP_ACCEPT="application/json", HTTP_AUTHORIZATION=auth)
    assert by_accept["Content-Type"] == "application/json"

    schema = json.loads(as_json.content)
    assert yaml.safe_load(as_yaml.content) == schema == json.loads(by_accept.content)
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "django-thinkific staff API"
    assert sorted(schema["paths"]) == [
        f"{PREFIX}events/",
        f"{PREFIX}events/{{id}}/",
        f"{PREFIX}events/{{id}}/process-again/",
        f"{PREFIX}subscriptions/",
        f"{PREFIX}subscriptions/sync/",
        f"{PREFIX}subscriptions/{{id}}/",
        f"{PREFIX}subscriptions/{{id}}/send-test/",
    ]
    assert schema["components"]["securitySchemes"] == {
        "basicAuth": {"type": "http", "scheme": "basic"},
        "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
    }


def _operation(schema, path, method):
    return schema["paths"][f"{PREFIX}{path}"][method]


def _ref(schema, body):
    name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    return schema["components"]["schemas"][name]


def test_schema_documents_bodies_filters_and_errors(staff_api):
    schema = staff_api.get(SCHEMA, {"format": "json"}).json()

    send_test = _operation(schema, "subscriptions/{id}/send-test/", "post")
    assert "requestBody" not in send_test
    assert set(send_test["responses"]) == {"200", "401", "403", "404", "422", "503"}
    assert set(_ref(schema, send_test["responses"]["200"])["properties"]) == {
        "event_id",
        "status_code",
        "ok",
        "detail",
    }

    sync = _operation(schema, "subscriptions/sync/", "post")
    assert "requestBody" not in sync
    assert set(sync["responses"]) == {"200", "401", "403", "502", "503"}
    assert set(_ref(schema, sync["responses"]["200"])["required"]) == {
        "created",
        "updated",
        "removed",
        "unchanged",
        "pages",
        "total",
        "skipped",
    }
    assert sync["responses"]["503"]["headers"]["Retry-After"]["schema"] == {"type": "integer"}

    again = _operation(schema, "events/{id}/process-again/", "post")
    assert "requestBody" not in again
    assert set(again["responses"]) == {"200", "401", "403", "404"}
    event = _ref(schema, again["responses"]["200"])["properties"]["event"]
    assert event["nullable"] is True

    create = _operation(schema, "subscriptions/", "post")
    request = _ref(schema, create["requestBody"])
    assert set(request["properties"]) == {"topic", "target_url"}
    assert set(request["required"]) == {"topic", "target_url"}
    assert set(create["responses"]) == {"201", "400", "401", "403", "415", "422", "502", "503"}
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FieldErrors"
    }
    assert create["responses"]["401"]["headers"]["WWW-Authenticate"]["schema"] == {"type": "string"}

    events = _operation(schema, "events/", "get")
    filters = {p["name"]: p for p in events["parameters"] if p["in"] == "query"}
    assert set(filters) == {
        "topic",
        "status",
        "received_after",
        "received_before",
        "cursor",
        "page_size",
    }
    assert filters["status"]["schema"]["enum"] == ["pending", "processed", "failed"]
    page = _ref(schema, events["responses"]["200"])
    assert set(page["properties"]) == {"next", "previous", "results"}

    subscriptions = _operation(schema, "subscriptions/", "get")
    assert {p["name"] for p in subscriptions["parameters"] if p["in"] == "query"} == {
        "topic",
        "status",
        "page",
        "page_size",
    }


def test_docs_page_loads_only_this_sites_files(staff_api):
    page = staff_api.get(DOCS)
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert not re.search(r"https?:|//", html)
    assert "validatorUrl: null," in html  # Swagger UI would ask validator.swagger.io
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(urls) == [
        f"{DOCS}assets/favicon-32x32.png",
        f"{DOCS}assets/swagger-ui-bundle.js",
        f"{DOCS}assets/swagger-ui.css",
    ]
    assert f'data-schema-url="{SCHEMA}?format=json"' in html
    types = {}
    for url in urls:
        asset = staff_api.get(url)
        assert asset.status_code == 200
        types[url.rsplit("/", 1)[1]] = asset["Content-Type"]
        assert b"".join(asset.streaming_content)
    assert types == {
        "favicon-32x32.png": "image/png",
        "swagger-ui-bundle.js": "text/javascript",
        "swagger-ui.css": "text/css",
    }


@pytest.mark.parametrize("name", ["LICENSE", "swagger-ui-bundle.js.map", "..%2fLICENSE", "x"])
def test_docs_serve_no_other_file(staff_api, name):
    answer = staff_api.get(f"{DOCS}assets/{name}", follow=True)  # APPEND_SLASH: to a 404
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not found."}


def test_swagger_ui_sends_the_csrf_token_of_the_session(staff):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)
    html = client.get(DOCS).content.decode()
    token = re.search(r'data-csrf-token="([^"]+)"', html).group(1)
    assert 'data-csrf-header="X-CSRFTOKEN"' in html
    refused = client.post(f"{PREFIX}subscriptions/sync/")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    # What the page's request interceptor does: the header DRF's check reads.
    client.cookies["csrftoken"] = client.cookies["csrftoken"].value
    answered = client.post(f"{PREFIX}events/1/process-again/", HTTP_X_CSRFTOKEN=token)
    assert answered.status_code == 404  # past the CSRF check: there is no event 1


@modify_settings(INSTALLED_APPS={"append": "drf_spectacular"})
def test_spectacular_command_validates_with_no_warning_and_matches_the_endpoint(staff_api):
    out = io.StringIO()
    call_command(
        "spectacular",
        "--generator-class",
        "django_thinkific.api.schema.SchemaGenerator",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        stdout=out,
    )
    served = staff_api.get(SCHEMA, {"format": "json"}).json()
    assert json.loads(out.getvalue()) == served


# What Schemathesis found (tests/test_rest_schema_fuzz.py), each now as the schema says.


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        (f"{PREFIX}events/", "status=failed&status=processed", "status"),
        (f"{PREFIX}events/", "page_size=2&page_size=3", "page_size"),
        (f"{PREFIX}subscriptions/", "topic=order.created&topic=user.signup", "topic"),
        (f"{PREFIX}subscriptions/", "page=1&page=2", "page"),
    ],
)
def test_a_repeated_query_parameter_is_a_400_naming_it(staff_api, path, query, name):
    answer = staff_api.get(f"{path}?{query}")
    assert answer.status_code == 400
    assert answer.json() == {name: ["Give this parameter once."]}


@pytest.mark.parametrize("value", ["-1.5", "0", "abc", "501", "٣", "99999999999999999999"])
def test_a_page_size_out_of_bounds_is_a_400_naming_it(staff_api, value):
    answer = staff_api.get(f"{PREFIX}events/", {"page_size": value})
    assert answer.status_code == 400
    assert answer.json() == {"page_size": ["Enter a whole number from 1 to 500."]}
    subscriptions = staff_api.get(f"{PREFIX}subscriptions/", {"page_size": value}).json()
    if value == "501":  # subscriptions' pages go up to 1000
        assert "results" in subscriptions
    else:
        assert subscriptions == {"page_size": ["Enter a whole number from 1 to 1000."]}


@pytest.mark.parametrize("value", ["", "1", "500"])
def test_a_blank_or_bounded_page_size_is_taken(staff_api, value):
    assert staff_api.get(f"{PREFIX}events/", {"page_size": value}).status_code == 200


def test_blank_query_parameters_are_documented_as_allowed(staff_api):
    schema = staff_api.get(SCHEMA, {"format": "json"}).json()
    queries = [
        parameter
        for path in schema["paths"].values()
        for operation in path.values()
        for parameter in operation.get("parameters", ())
        if parameter["in"] == "query"
    ]
    assert len(queries) == 10
    assert all(parameter["allowEmptyValue"] is True for parameter in queries)


def test_a_404_from_thinkific_on_create_is_a_502_not_a_missing_webhook(staff_api, fake_api):
    fake_api.fail_next(404, {"error": "Not Found"})
    answer = staff_api.post(
        f"{PREFIX}subscriptions/",
        {"topic": "order.created", "target_url": "https://shop.acme.io/hook"},
        format="json",
    )
    assert answer.status_code == 502
    assert set(answer.json()) == {"detail"}
