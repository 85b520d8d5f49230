"""Creates (or resets) the demo's admin login and prints what a newcomer needs to try it.

``make demo`` runs it before the server starts, every time: the admin login (the
password from ``.env``, so the same one each start; a random one when none is set),
the webhook secret, and a ready ``curl`` that posts a signed sample delivery to the
demo. The secret is printed only while the site talks to its own fake Thinkific API
(``DEBUG`` and no ``THINKIFIC_API_BASE_URL``): then it is the demo's, generated locally
by ``make_env.py``. A site configured for the real API gets a curl that reads the
secret from ``$THINKIFIC_WEBHOOK_SECRET`` instead: a real site's key is never printed.
"""

import json
import os
import secrets
import shlex

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from django_thinkific.conf import get_settings
from django_thinkific.samples import SAMPLE_SITE, sample_event

SAMPLE_TOPIC = "order.created"


def delivery_command(url: str, secret: str | None, topic: str = SAMPLE_TOPIC) -> str:
    """A shell command (``sh``, ``bash``, ``zsh``) posting a fresh sample delivery of
    ``topic`` to ``url``, signed as Thinkific signs it: the hex HMAC-SHA256 of the exact
    body, computed by ``openssl`` in the command itself. Without ``secret`` the key is
    read from ``$THINKIFIC_WEBHOOK_SECRET``."""
    body = json.dumps(sample_event(topic), separators=(",", ":"))  # ASCII: what is signed
    key = shlex.quote(secret) if secret else '"$THINKIFIC_WEBHOOK_SECRET"'
    return "\n".join(
        [
            f"body={shlex.quote(body)}",
            f"curl -sS -w '\\nHTTP %{{http_code}}\\n' {shlex.quote(url)} \\",
            "  -H 'Content-Type: application/json' \\",
            f"  -H {shlex.quote('X-Thinkific-Topic: ' + topic)} \\",
            f"  -H {shlex.quote('X-Thinkific-Subdomain: ' + SAMPLE_SITE)} \\",
            '  -H "X-Thinkific-Hmac-Sha256: $(printf \'%s\' "$body" | '
            f"openssl dgst -sha256 -hmac {key} | awk '{{print $NF}}')\" \\",
            '  --data-binary "$body"',
        ]
    )


class Command(BaseCommand):
    help = (
        "Create or reset the demo admin login from DEMO_ADMIN_USERNAME/DEMO_ADMIN_PASSWORD "
        "(a random password when none is set) and print it, with the webhook secret and a "
        "curl that posts a signed sample delivery to the demo on DEMO_PORT."
    )

    # The port is judged first: a bad one also makes the fake API's URL unusable
    # (E005), and the one line a newcomer needs is about the port.
    requires_system_checks: list[str] = []

    def handle(self, *args, **options):
        port = settings.DEMO_PORT
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise CommandError(f"The demo's port must be a number from 1 to 65535, not {port!r}.")
        self.check()
        site = f"http://127.0.0.1:{port}"
        username = os.environ.get("DEMO_ADMIN_USERNAME") or "admin"
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()

        webhook_url = site + reverse("django_thinkific:webhook")
        own_secrets = get_settings().webhook_secrets
        demo_secret = own_secrets[0] if settings.FAKE_THINKIFIC_API and own_secrets else None
        write = self.stdout.write
        write(self.style.SUCCESS(f"The demo serves on {site}/ (Ctrl-C stops it)."))
        write(f"  Admin login:     {site}/admin/  user {username!r}  password {password!r}")
        write(f"  Webhook URL:     {webhook_url}")
        if demo_secret:
            write(f"  Webhook secret:  {demo_secret}  (the demo's own, THINKIFIC_API_KEY in .env)")
        elif own_secrets:
            write(
                "  Webhook secret:  not printed (this site is set up for the real Thinkific "
                "API): export it as THINKIFIC_WEBHOOK_SECRET to run the curl below."
            )
        else:
            write("  Webhook secret:  none: set THINKIFIC_API_KEY in .env (check E002).")
        write(
            f"Post a signed sample delivery ({SAMPLE_TOPIC}) from another terminal; it answers "
            "HTTP 200 and the event appears under Received events in the admin:"
        )
        write(delivery_command(webhook_url, demo_secret))
