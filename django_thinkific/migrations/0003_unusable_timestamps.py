"""Clear timestamps that cannot be read back or shown (issue 10, item 3).

Before this release a delivery's signed ``created_at`` (and a webhook's dates
from the API) were stored as given. PostgreSQL accepts years up to 294276, so
a value such as ``9999-12-31T23:59:59-10:00`` was stored and then could no
longer be read (psycopg: "timestamp too large"): the admin's event list, the
REST API and the recovery sweep failed on it. Such values are now kept as no
timestamp; this clears the ones already stored, with the same rule
(``django_thinkific.timestamps``), in UPDATEs that never read the rows.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Q

from django_thinkific.timestamps import USABLE_MAX, USABLE_MIN

FIELDS = {
    "ReceivedEvent": ("thinkific_created_at",),
    "Subscription": ("remote_created_at", "remote_updated_at"),
}


def clear_unusable(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    db = schema_editor.connection.alias
    for model_name, fields in FIELDS.items():
        model = apps.get_model("django_thinkific", model_name)
        for field in fields:
            outside = Q(**{f"{field}__lt": USABLE_MIN}) | Q(**{f"{field}__gt": USABLE_MAX})
            model.objects.using(db).filter(outside).update(**{field: None})


class Migration(migrations.Migration):
    dependencies = [("django_thinkific", "0002_pruned_events_lost_attempts")]

    operations = [migrations.RunPython(clear_unusable, migrations.RunPython.noop, elidable=True)]
