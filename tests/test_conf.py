"""Settings are read at use time, with documented defaults, and never leak secrets."""

from django.test import override_settings

from django_thinkific.conf import get_settings


def test_defaults(settings):
    settings.THINKIFIC = {"API_KEY": "k"}
    conf = get_settings()
    assert conf.api_base_url == "https://api.thinkific.com/api/v2"
    assert conf.event_retention_days == 30
    assert conf.dispatch == "sync"
    assert conf.max_body_size == 1024 * 1024
    assert conf.webhook_secrets == ("k",)


def test_no_thinkific_setting_at_all(settings):
    del settings.THINKIFIC
    conf = get_settings()
    assert conf.webhook_secrets == ()
    assert conf.api_key is None


def test_default_secrets_are_api_key_and_app_secret(settings):
    settings.THINKIFIC = {"API_KEY": "k", "APP_CLIENT_SECRET": "s"}
    assert get_settings().webhook_secrets == ("k", "s")


def test_explicit_secrets_replace_the_default(settings):
    settings.THINKIFIC = {"API_KEY": "k", "WEBHOOK_SECRETS": ["new", " old ", ""]}
    assert get_settings().webhook_secrets == ("new", "old")


def test_comma_separated_secrets(settings):
    settings.THINKIFIC = {"WEBHOOK_SECRETS": "a, b,,c"}
    assert get_settings().webhook_secrets == ("a", "b", "c")


def test_override_settings_takes_effect_immediately():
    before = get_settings().api_key
    with override_settings(THINKIFIC={"API_KEY": "inner"}):
        assert get_settings().api_key == "inner"
    assert get_settings().api_key == before


def test_trailing_slash_stripped_from_base_url(settings):
    settings.THINKIFIC = {"API_BASE_URL": "http://127.0.0.1:9/api/v2/"}
    assert get_settings().api_base_url == "http://127.0.0.1:9/api/v2"


def test_repr_hides_secrets(settings):
    settings.THINKIFIC = {"API_KEY": "sk-hidden", "APP_CLIENT_SECRET": "cs-hidden"}
    text = repr(get_settings()) + str(get_settings())
    assert "hidden" not in text
