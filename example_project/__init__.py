# Load the Celery app with Django so that @shared_task binds to it (where Celery is
# installed: it is an extra, and DISPATCH = "sync" runs without it).
from importlib.util import find_spec

if find_spec("celery") is not None:
    from .celery import app as celery_app

    __all__ = ["celery_app"]
