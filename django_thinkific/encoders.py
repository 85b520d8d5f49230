"""The JSON encoder of ``ReceivedEvent.payload``: floats stored so they come back as floats.

Python writes a float of 1e16 or more with an exponent (``1e+16``).
PostgreSQL's ``jsonb`` keeps numbers as ``numeric`` and prints them without
one (``10000000000000000``), which reads back as an ``int``: a receiver run
again from the database (process again, Celery) would see another type than
the first run did. Written as its exact digits with a ``.0``
(``10000000000000000.0``), ``numeric`` keeps the scale, prints it back the
same, and it reads as the very same float. Floats written without an
exponent, and small ones (``1e-07`` is printed back as ``0.0000001``), already
come back as floats. ``numeric`` has no negative zero: ``-0.0`` comes back as
``0.0`` (equal, still a float).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any


def float_text(value: float, *, allow_nan: bool = True) -> str:
    """``value`` as JSON that every database reads back as the same float."""
    if not math.isfinite(value):
        if not allow_nan:
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    text = float.__repr__(value)
    if "e+" in text:
        return f"{int(value)}.0"  # the double's exact value: it parses back to itself
    return text


class PayloadJSONEncoder(json.JSONEncoder):
    """``json.JSONEncoder`` whose floats never carry a positive exponent (see the module)."""

    def encode(self, o: Any) -> str:
        # json's C encoder writes floats itself (a float subclass's repr is ignored,
        # and so is any hook): its text is kept unless it may hold such a float.
        text = super().encode(o)
        if "e+" not in text:
            return text
        return "".join(self._chunks(o))

    def iterencode(self, o: Any, _one_shot: bool = False) -> Iterator[str]:
        if _one_shot:  # from encode(): the fast C path
            return super().iterencode(o, _one_shot=True)
        return self._chunks(o)

    def _chunks(self, o: Any) -> Iterator[str]:
        if isinstance(o, str):
            yield super().encode(o)
        elif o is None:
            yield "null"
        elif o is True:
            yield "true"
        elif o is False:
            yield "false"
        elif isinstance(o, int):
            yield int.__repr__(o)
        elif isinstance(o, float):
            yield float_text(o, allow_nan=self.allow_nan)
        elif isinstance(o, (list, tuple)):
            yield "["
            for index, item in enumerate(o):
                if index:
                    yield self.item_separator
                yield from self._chunks(item)
            yield "]"
        elif isinstance(o, dict):
            yield from self._object(o)
        else:
            yield from self._chunks(self.default(o))

    def _object(self, o: dict[Any, Any]) -> Iterator[str]:
        yield "{"
        items = sorted(o.items()) if self.sort_keys else o.items()
        first = True
        for key, value in items:
            if isinstance(key, str):
                name = key
            elif isinstance(key, (float, int)) or key is None:  # bool is an int
                name = json.dumps(key, allow_nan=self.allow_nan)  # a key is text: as json writes it
            elif self.skipkeys:
                continue
            else:
                raise TypeError(
                    f"keys must be str, int, float, bool or None, not {type(key).__name__}"
                )
            if not first:
                yield self.item_separator
            first = False
            yield super().encode(name)
            yield self.key_separator
            yield from self._chunks(value)
        yield "}"
