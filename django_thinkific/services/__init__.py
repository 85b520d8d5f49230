"""The service layer: the one place views, admin, API, commands and tasks call.

Modules are named for what they do: ``receiving`` turns a signed delivery into
a stored event, ``processing`` runs the signals for stored events exactly once.
"""
