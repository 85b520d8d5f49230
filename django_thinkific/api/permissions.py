"""Who may use the REST API: ``THINKIFIC['REST_PERMISSION_CLASSES']``, read per request.

The classes are resolved on every request rather than at import, so a site
(or a test with ``override_settings``) can change them without reloading the
URLconf, and a typo in a dotted path names the setting instead of surfacing
as a bare ``ImportError``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission, DjangoModelPermissions
from rest_framework.request import Request

from .. import conf
from ..conf import get_settings, permission_class


def configured_permissions() -> list[BasePermission]:
    """Instances of the configured permission classes; a request needs all of them.

    An entry that names no permission class (E009) fails the request closed, with
    the setting named, whatever is wrong with it.
    """
    permissions: list[BasePermission] = []
    for dotted in get_settings().rest_permission_classes:
        found, problem = permission_class(dotted)
        if found is None:
            raise ImproperlyConfigured(
                f"THINKIFIC['REST_PERMISSION_CLASSES'] names {conf.shown(dotted)}, which "
                f"{problem} (manage.py check: django_thinkific.E009)"
            )
        permissions.append(found())
    return permissions


class ModelPermissions(DjangoModelPermissions):
    """The admin's permissions, per action: reading needs ``view``, creating
    ``add``, changing ``change``, deleting ``delete``; the actions that change
    something (send a test event, sync, process again) need ``change``, as
    their admin actions do. So a staff user without permissions can do nothing.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }
    #: Custom actions and the permission they need.
    ACTION_PERMS = {"send_test": "change", "sync": "change", "process_again": "change"}

    def has_permission(self, request: Request, view: Any) -> bool:
        action = getattr(view, "action", None)
        if action in self.ACTION_PERMS:
            if not request.user or not request.user.is_authenticated:
                return False
            opts = self._queryset(view).model._meta
            return request.user.has_perm(
                f"{opts.app_label}.{self.ACTION_PERMS[action]}_{opts.model_name}"
            )
        return super().has_permission(request, view)
