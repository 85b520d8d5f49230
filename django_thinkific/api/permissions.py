"""Who may use the REST API: ``THINKIFIC['REST_PERMISSION_CLASSES']``, read per request.

The classes are resolved on every request rather than at import, so a site
(or a test with ``override_settings``) can change them without reloading the
URLconf, and a typo in a dotted path names the setting instead of surfacing
as a bare ``ImportError``.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from rest_framework.permissions import BasePermission

from ..conf import get_settings


def configured_permissions() -> list[BasePermission]:
    """Instances of the configured permission classes; a request needs all of them."""
    permissions: list[BasePermission] = []
    for dotted in get_settings().rest_permission_classes:
        try:
            permission_class = import_string(dotted)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"THINKIFIC['REST_PERMISSION_CLASSES'] names {dotted!r}, "
                f"which cannot be imported: {exc}"
            ) from exc
        permissions.append(permission_class())
    return permissions
