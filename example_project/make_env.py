"""Prints a development ``.env`` for ``make demo``: DEBUG on, fresh random secrets."""

import secrets

print(
    f"""# Written by `make demo`. Every variable is described in the README.
DEBUG=true
SECRET_KEY={secrets.token_urlsafe(40)}
THINKIFIC_API_KEY=demo-{secrets.token_hex(12)}
DEMO_ADMIN_USERNAME=admin
DEMO_ADMIN_PASSWORD={secrets.token_urlsafe(12)}
CELERY_BROKER_URL=
"""
)
