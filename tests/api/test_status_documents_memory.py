"""The status documents cache keeps each piece at its own size (orjson's results sit in 4 KB
buffers: kept as they came, a cached status cost about 17 KB, found by the soak)."""

from __future__ import annotations

import tracemalloc

import orjson

from kinfolk.api.entities.status_documents import _kept


def test_kept_documents_cost_their_length_not_orjsons_buffer() -> None:
    small = {"automatic": [], "manual": [], "current_user": "automatic"}
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        raw = [orjson.dumps(small) for _ in range(1000)]
        after_raw, _ = tracemalloc.get_traced_memory()
        kept = [_kept(orjson.dumps(small)) for _ in range(1000)]
        after_kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept[0] == raw[0] == orjson.dumps(small)
    assert (after_raw - before) / 1000 > 1000  # what the cache held before
    assert (after_kept - after_raw) / 1000 < 200
