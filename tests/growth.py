"""Asserting that a parser's time grows at most linearly with its input.

One run times the same work on inputs of 1x, 10x and 100x a base size (the best of a few
repetitions, the garbage collector paused), the base chosen so that 1x takes at least a
millisecond, above timer noise. Ideal linear code gives ratios of 10 and 100, but Python code
that allocates an object per entity measures up to 30 and 450 on this 2-core machine (the
100x input no longer fits the CPU caches), so the bounds are 10 x 6 and 100 x 10: quadratic code
(ratios near 100 and 10,000) still fails, and 100x is not tried once 10x has failed, so a
quadratic parser fails quickly.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

MIN_BASE_SECONDS = 0.001
# When `max_base` stops the base below a millisecond (a parser whose caps make it constant-time),
# ratios of microseconds are scheduler noise: below these absolute times nothing is concluded. A
# quadratic parser at 100x such a base still takes far longer.
NOISE_FLOOR_10X = 0.05
NOISE_FLOOR_100X = 0.5
SLACK_10X = 6.0
SLACK_100X = 10.0


def _best(work: Callable[[T], object], value: T, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work(value)
        best = min(best, time.perf_counter() - started)
    return best


def assert_linear(
    work: Callable[[T], object],
    make: Callable[[int], T],
    *,
    base: int,
    max_base: int = 1 << 20,
) -> dict[str, float]:
    """Fail unless `work(make(n))` grows at most linearly in `n`; returns the timings."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        while base < max_base and _best(work, make(base), 3) < MIN_BASE_SECONDS:
            base *= 2
        one = _best(work, make(base), 5)
        ten = _best(work, make(base * 10), 3)
        timings = {"base": base, "1x": one, "10x": ten}
        capped = one < MIN_BASE_SECONDS
        bound_10x = max(10 * SLACK_10X * one, NOISE_FLOOR_10X if capped else 0.0)
        assert ten <= bound_10x, f"10x input took {ten / one:.0f}x the time: {timings}"
        hundred = _best(work, make(base * 100), 2)
        timings["100x"] = hundred
        bound_100x = max(100 * SLACK_100X * one, NOISE_FLOOR_100X if capped else 0.0)
        assert hundred <= bound_100x, f"100x input took {hundred / one:.0f}x the time: {timings}"
        return timings
    finally:
        if enabled:
            gc.enable()
