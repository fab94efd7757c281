"""Snowflake-style 64-bit ids: milliseconds since the epoch in the high bits, a counter below.

They sort by creation time, so `max_id`/`min_id` paging is a plain index range scan, and they
are made in Python, so an insert never waits on the database for its key.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

_SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1

_lock = threading.Lock()
_last_ms = 0
_sequence = secrets.randbelow(1 << _SEQUENCE_BITS)


# Random bytes drawn in blocks: one getrandom() call per id released the GIL, and under load a
# thread that releases the GIL waits for another's switch interval to get it back (bench/RESULTS.md).
_random_bytes = b""
_random_at = 0


def _random_start() -> int:
    """A uniform start for a new millisecond's sequence, below half its range (caller holds _lock)."""
    global _random_bytes, _random_at
    if _random_at + 2 > len(_random_bytes):
        _random_bytes = secrets.token_bytes(4096)
        _random_at = 0
    value = int.from_bytes(_random_bytes[_random_at : _random_at + 2], "big")
    _random_at += 2
    return value & ((1 << (_SEQUENCE_BITS - 1)) - 1)


def new_id(at_ms: int | None = None) -> int:
    """A new unique id; within one process ids are strictly increasing."""
    global _last_ms, _sequence
    with _lock:
        now = int(time.time() * 1000) if at_ms is None else at_ms
        if now <= _last_ms:
            _sequence = (_sequence + 1) & _SEQUENCE_MASK
            if _sequence == 0:
                _last_ms += 1
            now = _last_ms
        else:
            _sequence = _random_start()
        _last_ms = now
        return (now << _SEQUENCE_BITS) | _sequence


def id_floor_for_ms(ms: int) -> int:
    """The smallest id that can be made at `ms`, for time-bounded range queries."""
    return ms << _SEQUENCE_BITS


def id_timestamp_ms(value: int) -> int:
    return value >> _SEQUENCE_BITS


def is_digits(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes '²' and '١٢', on which `int()` fails or which
    no client means as a number."""
    return text.isascii() and text.isdigit()


def id_value(value: Any) -> int | None:
    """An id as clients send it (a number, or a string of ASCII digits) when it can name a row,
    0 <= id < 2**63 (SQLite's and PostgreSQL's bigint); None for anything else, which callers
    treat as naming nothing. Ids from requests are read through here, so no database driver
    ever sees an integer it cannot bind."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not is_digits(text) or len(text) > 19:
            return None
        number = int(text)
    else:
        return None
    return number if 0 <= number < 1 << 63 else None
