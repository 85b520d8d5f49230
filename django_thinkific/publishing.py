"""Publishing a task to the broker in bounded wall time.

A delivery with ``DISPATCH = "celery"`` is answered once its event is stored and
its task published. A broker that accepts the connection and then never answers
(a hung process, a proxy in front of a dead one, a half-open connection) would
make ``apply_async`` wait forever with redis-py's default (no socket timeout),
or ``broker_connection_timeout`` (4 s) per attempt with AMQP: the answer would
come from gunicorn killing the worker. :func:`publish` bounds it twice:

1. **Transport timeouts**, on a small producer pool of our own built from the
   site's broker URL and ``broker_transport_options``: every socket operation
   gives up after :data:`SOCKET_TIMEOUT` (redis: ``socket_timeout`` and
   ``socket_connect_timeout``; AMQP: ``connect_timeout``, ``read_timeout``,
   ``write_timeout``; any other transport: ``connect_timeout``). A smaller value
   the site set is kept. The site's Celery app, settings and pool are untouched:
   only this app's publishes use these connections.
2. **A hard deadline** of :data:`PUBLISH_TIMEOUT` seconds, whatever the
   transport does (DNS resolution, a transport's own retry loop, a
   ``before_task_publish`` receiver): the publish runs on one of at most
   :data:`MAX_PUBLISHERS` threads and the caller stops waiting at the deadline.
   A publish past its deadline keeps its thread and its pooled connection until
   (1) ends it; while all of them are taken, :func:`publish` gives up at once
   rather than start another thread, so threads and connections stay bounded.

Giving up raises :class:`PublishTimeout`; the caller leaves the event pending
for a redelivery or the recovery sweep. With ``task_always_eager`` (no broker)
the task runs inline, as ``apply_async`` would run it.

Tasks are published by name (:data:`PROCESS_EVENT`), so the services that
publish never import :mod:`django_thinkific.tasks`; the app config imports it
where Celery is installed, which registers the tasks with the site's Celery app.
Celery itself is imported only when a task is published, so a site without it
(``DISPATCH = "sync"``, no ``[celery]`` extra) loads this module too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.db import connections

from .errors import PublishTimeout

#: The task that runs one stored event's receivers (``tasks.process_event``).
PROCESS_EVENT = "django_thinkific.process_event"
#: Seconds the caller waits for one publish, the retry policy included.
PUBLISH_TIMEOUT = 1.5
#: Seconds for each socket operation (connect, read, write) of a publish.
SOCKET_TIMEOUT = 0.5
#: Publishes at once per process, stuck ones included (threads, pooled connections).
MAX_PUBLISHERS = 4

_REDIS_OPTIONS = ("socket_timeout", "socket_connect_timeout")
_AMQP_OPTIONS = ("read_timeout", "write_timeout")


class _Publishers:
    """One process's threads, slots and (built on first use) producer pool for one app."""

    def __init__(self, app: Any, key: tuple[Any, ...]) -> None:
        self.app = app
        self.key = key
        self.threads = ThreadPoolExecutor(MAX_PUBLISHERS, thread_name_prefix="thinkific-publish")
        self.slots = threading.BoundedSemaphore(MAX_PUBLISHERS)
        self._lock = threading.Lock()
        self._producers: Any = None  # kombu.pools.ProducerPool

    def producers(self) -> Any:
        """Built in a publishing thread, so that importing the transport is inside the deadline."""
        with self._lock:
            if self._producers is None:
                self._producers = _producer_pool(self.app)
            return self._producers


_lock = threading.Lock()
_by_app: dict[int, _Publishers] = {}


def _forget_after_fork() -> None:
    """A forked child (a gunicorn or Celery worker) starts with none: the parent's
    threads did not come along, and its locks may have been held at the fork."""
    global _lock
    _lock = threading.Lock()
    _by_app.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def publish(name: str, args: Sequence[Any], **options: Any) -> bool:
    """Publish the task registered as ``name`` with ``args``, returning or raising within
    :data:`PUBLISH_TIMEOUT`; ``options`` are ``apply_async``'s.

    Returns ``True`` when the task ran here and now (``task_always_eager``),
    ``False`` when it was handed to the broker. Raises what the publish
    raised, or :class:`PublishTimeout`.
    """
    from celery import current_app  # an extra: imported only where a task is published

    app = current_app._get_current_object()
    if app.conf.task_always_eager:
        # ``send_task`` ignores task_always_eager: run the registered task itself, here.
        app.tasks[name].apply_async(args, **options)
        return True
    publishers = _publishers_for(app)
    if not publishers.slots.acquire(blocking=False):
        raise PublishTimeout(f"{MAX_PUBLISHERS} earlier publishes are still waiting for the broker")
    try:
        future = publishers.threads.submit(_send, publishers, name, args, options)
    except BaseException:
        publishers.slots.release()
        raise
    try:
        future.result(timeout=PUBLISH_TIMEOUT)
    except FutureTimeout:
        raise PublishTimeout(f"the broker did not answer within {PUBLISH_TIMEOUT:g} s") from None
    return False


def _send(publishers: _Publishers, name: str, args: Sequence[Any], options: dict) -> None:
    try:
        with publishers.producers().acquire(block=True, timeout=PUBLISH_TIMEOUT) as producer:
            # The registered task's own apply_async (its options, routing and result
            # settings) where it is registered here; else send_task with the name.
            publishers.app.signature(name).apply_async(args, producer=producer, **options)
    finally:
        publishers.slots.release()
        connections.close_all()  # a publish signal receiver may have used the database


def _publishers_for(app: Any) -> _Publishers:
    """This process's publishers for ``app``, replaced when its broker settings change."""
    conf = app.conf
    key = (conf.broker_write_url, repr(conf.broker_transport_options))
    with _lock:
        previous = _by_app.get(id(app))
        if previous is not None and previous.key == key:
            return previous
        if previous is not None:
            previous.threads.shutdown(wait=False)  # its threads end once idle
        found = _by_app[id(app)] = _Publishers(app, key)
        return found


def _producer_pool(app: Any) -> Any:
    """Producers on the site's broker URL and transport options, with bounded timeouts."""
    from kombu.pools import ProducerPool

    conf = app.conf
    site_options = dict(conf.broker_transport_options or {})
    probe = app.connection_for_write()
    try:
        driver = probe.transport.driver_type
    finally:
        probe.release()
    names = {"redis": _REDIS_OPTIONS, "amqp": _AMQP_OPTIONS}.get(driver, ())
    connection = app.connection_for_write(
        connect_timeout=_bounded(conf.broker_connection_timeout),
        transport_options={name: _bounded(site_options.get(name)) for name in names},
    )
    return ProducerPool(
        connection.Pool(limit=MAX_PUBLISHERS), limit=MAX_PUBLISHERS, Producer=app.amqp.Producer
    )


def _bounded(value: Any) -> float:
    """The site's timeout if it is a smaller positive number, else :data:`SOCKET_TIMEOUT`."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return min(float(value), SOCKET_TIMEOUT)
    return SOCKET_TIMEOUT
