"""How large a setting's (or a command argument's) count may be, and how a value is quoted.

Shared by :mod:`django_thinkific.conf` (the settings table), the checks that
report from it and the commands that take the same counts.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from .timestamps import UTC, max_days_before


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: The longest rendering of a setting's value in a check message.
SHOWN_LENGTH = 100


def shown(value: Any) -> str:
    """``repr(value)`` for a check message, short, and never raising.

    An integer past Python's 4,300-digit conversion limit cannot be ``repr``-ed
    at all (ValueError), and a pasted megabyte would flood the console.
    """
    if is_int(value) and value.bit_length() > 256:
        return f"an integer of about {round(value.bit_length() * 0.30103)} digits"
    try:
        text = repr(value)
    except Exception:  # a value whose repr itself fails
        return f"a {type(value).__name__}"
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


def maximum(unit: str) -> int:
    """The largest count of ``unit`` a setting (or a command's argument) may take.

    Days and seconds must leave a usable instant when taken from now (no
    further back than year 1); rows must fit a 64-bit SQL integer; bytes what
    a ``read()`` can be asked for, plus one.
    """
    now = datetime.now(UTC)  # aware whatever USE_TZ says (E015 reports USE_TZ = False)
    if unit == "days":
        return max_days_before(now)
    if unit == "seconds":
        return max_days_before(now) * 86400
    if unit == "rows":
        return 2**63 - 1
    return sys.maxsize - 1
