"""Receivers' ``transaction.on_commit`` callbacks, run after the event's commit.

A receiver that writes rows and registers ``on_commit(send_mail)`` expects
the mail to go once those rows are committed. Django runs such callbacks as
the outermost ``atomic`` block exits, *after* the commit, and lets the first
exception escape from the ``with`` statement: the caller would then take a
committed success for a failure, mark the event ``failed`` and, on the next
attempt, commit the same writes again. A non-robust callback that raises
also stops the callbacks queued after it.

So the processing transaction takes its callbacks out of Django's queue just
before it commits and runs them itself once the commit has succeeded: every
callback runs, each failure is reported with its traceback, and none of them
can change what was committed. If the commit fails, they are dropped, as
Django would drop them.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

#: Exceptions that stop the process (Ctrl-C, ``sys.exit``, a server's worker
#: abort): never recorded as an outcome, always re-raised.
PROCESS_EXITS = (KeyboardInterrupt, SystemExit)


def take(connection: BaseDatabaseWrapper) -> list[Callable[[], Any]]:
    """Remove and return the callbacks queued in the current outermost transaction.

    Only called by the block that opened that transaction, so every queued
    entry is its own. ``run_on_commit`` holds ``(savepoint ids, func, robust)``
    on every supported Django (4.2 to 6.x); callbacks of savepoints that were
    rolled back are already gone from it.
    """
    queued = connection.run_on_commit
    connection.run_on_commit = []
    return [entry[1] for entry in queued]


def run(callbacks: list[Callable[[], Any]]) -> list[str]:
    """Run every callback; return the traceback of each one that raised."""
    failures = []
    for callback in callbacks:
        try:
            callback()
        except PROCESS_EXITS:
            raise
        except BaseException as exc:
            failures.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return failures


def run_queued_since(connection: BaseDatabaseWrapper, start: int) -> list[str]:
    """Run, as a commit would, the callbacks queued after position ``start``.

    For a transaction that never commits (a test's): the callbacks are taken out
    of the queue and run, and so are any they queue in turn. Returns the
    traceback of each one that raised.
    """
    failures: list[str] = []
    while len(connection.run_on_commit) > start:
        queued = connection.run_on_commit[start:]
        del connection.run_on_commit[start:]
        failures += run([entry[1] for entry in queued])
    return failures
