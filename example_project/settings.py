"""Settings for the example site, read only from the environment (and ``.env``).

Every variable is listed in the README. Defaults give a working SQLite site
for development; production needs SECRET_KEY, DEBUG=false and ALLOWED_HOSTS.
"""

from importlib.util import find_spec
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # a missing file is fine


def env_int(name, default):
    """An integer variable; a malformed one is passed on as text, for the app's system
    check to name (E003, E007, ...) instead of a ValueError at import."""
    raw = env.str(name, default=str(default)).strip()
    try:
        return int(raw)
    except ValueError:
        return raw


DEBUG = env.bool("DEBUG", default=False)
# Required unless DEBUG: a missing key stops the site with a one-line message.
SECRET_KEY = (
    env.str("SECRET_KEY", default="insecure-example-key-change-me")
    if DEBUG
    else env.str("SECRET_KEY")
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_thinkific",
    "example_project.shop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections, checked before reuse (docs/deployment.md): a worker keeps its
# connection rather than opening and authenticating one for every delivery. CONN_MAX_AGE
# (seconds; 0 closes after each request) wins over the URL's ?conn_max_age=; a malformed
# value is taken as 0 and reported by the shop app's check (shop.E001), not a traceback.
EXAMPLE_SETTING_ERRORS = []


def env_seconds(name, default):
    raw = env.str(name, default="").strip() or str(default)
    if raw.isascii() and raw.isdigit():
        return int(raw)
    EXAMPLE_SETTING_ERRORS.append(f"{name}={raw!r} is not a whole number of seconds")
    return 0


DATABASES["default"]["CONN_MAX_AGE"] = env_seconds(
    "CONN_MAX_AGE", DATABASES["default"].get("CONN_MAX_AGE", 600)
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

THINKIFIC = {
    "API_KEY": env.str("THINKIFIC_API_KEY", default="") or None,
    "APP_CLIENT_SECRET": env.str("THINKIFIC_APP_CLIENT_SECRET", default="") or None,
    "EVENT_RETENTION_DAYS": env_int("THINKIFIC_EVENT_RETENTION_DAYS", 30),
    "DISPATCH": env.str("THINKIFIC_DISPATCH", default="sync"),
    "PROCESSING_TIMEOUT": env_int("THINKIFIC_PROCESSING_TIMEOUT", 300),
}
# Without THINKIFIC_API_BASE_URL, a DEBUG site talks to the fake Webhooks API
# that example_project/urls.py mounts on the site itself: no Thinkific account needed.
# DEMO_PORT is the port the site serves on (`make demo PORT=...` sets it), so the fake
# API is addressed there too; a malformed one is refused by demo_admin, not at import.
DEMO_PORT = env_int("DEMO_PORT", 8000)
FAKE_THINKIFIC_API = DEBUG and not env.str("THINKIFIC_API_BASE_URL", default="")
if FAKE_THINKIFIC_API:
    THINKIFIC["API_BASE_URL"] = f"http://127.0.0.1:{DEMO_PORT}/fake-thinkific/api/v2"
    # The demo's webhooks point at the demo itself: allow http and loopback targets.
    THINKIFIC["ALLOW_INSECURE_TARGETS"] = True
elif env.str("THINKIFIC_API_BASE_URL", default=""):
    THINKIFIC["API_BASE_URL"] = env.str("THINKIFIC_API_BASE_URL")
if env.str("THINKIFIC_WEBHOOK_SECRETS", default=""):
    THINKIFIC["WEBHOOK_SECRETS"] = env.list("THINKIFIC_WEBHOOK_SECRETS")

# Only for bench/receiver_bench.py: mounts the floor view (example_project/floor.py).
BENCH_FLOOR = env.bool("BENCH_FLOOR", default=False)

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
if find_spec("celery") is not None:  # an extra; without it, cron runs the two commands instead
    from celery.schedules import crontab

    CELERY_BEAT_SCHEDULE = {
        # Received events past THINKIFIC["EVENT_RETENTION_DAYS"], every night.
        "thinkific-prune-received-events": {
            "task": "django_thinkific.prune_received_events",
            "schedule": crontab(hour=3, minute=17),
        },
        # Events left pending (a lost task, a dead process), every five minutes.
        "thinkific-recover-pending-events": {
            "task": "django_thinkific.recover_pending_events",
            "schedule": 300.0,
        },
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "django_thinkific": {"handlers": ["console"], "level": "INFO"},
        "example_project": {"handlers": ["console"], "level": "INFO"},
    },
}
