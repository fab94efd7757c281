"""Request parameters: what is too deep or too many is refused before it is built, and the
checks on JSON bodies are linear in the document."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.growth import assert_linear

from kinfolk.api.http import MAX_PARAMS, _json_within_bounds, flatten_pairs
from kinfolk.kernel.errors import BadRequest


def _flatten(pairs: list[tuple[str, Any]]) -> bool:
    try:
        flatten_pairs(pairs)
    except BadRequest:
        return False
    return True


def test_deep_brackets_and_many_keys_are_refused_before_anything_is_built() -> None:
    deep = [("a" + "[b]" * 10_000, "1")]
    many = [(f"k{i}", "1") for i in range(100_000)]
    started = time.perf_counter()
    assert not _flatten(deep)
    assert not _flatten(many)
    assert not _flatten([("a" + "[b]" * 33, "1")])
    assert time.perf_counter() - started < 0.05
    assert _flatten([("a" + "[b]" * 32, "1")])
    assert _flatten([(f"k{i}[x][]", "1") for i in range(MAX_PARAMS)])


@pytest.mark.parametrize(
    "shape",
    [
        lambda n: {f"k{i}": [1, {"x": "y"}] for i in range(n)},
        lambda n: {f"k{i}": [[[[[[[[["deep"]]]]]]]]] for i in range(n)},
    ],
)
def test_json_bounds_are_checked_in_linear_time(shape: Any) -> None:
    assert_linear(_json_within_bounds, shape, base=50)
