"""The service layer: the one place views, admin, API, commands and tasks call.

Modules are named for what they do: ``receiving`` turns a signed delivery into
a stored event, ``dispatch`` runs it now or queues it (and sweeps up what was
left pending), ``processing`` runs the signals for stored events exactly once.
Nothing here imports the doors (tasks, admin, api, views, management); the
Celery task is published by name.
"""
