"""Creates (or resets) the demo's admin login and prints it."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create or reset the demo admin login from DEMO_ADMIN_USERNAME/DEMO_ADMIN_PASSWORD "
        "(a random password, printed, when none is set)."
    )

    def handle(self, *args, **options):
        username = os.environ.get("DEMO_ADMIN_USERNAME") or "admin"
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Admin login: http://127.0.0.1:8000/admin/  user {username!r}  "
                f"password {password!r}"
            )
        )
