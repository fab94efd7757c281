"""Overlap checks between sorted spans of a text, in one pass.

Entity extraction asks "does this match overlap anything already taken?" once per match. Scanning
every taken span for each question is quadratic (a post of mentions froze the server for
seconds); matches come in order of their start, so a pointer that only moves forward answers
all the questions in one walk over the spans.
"""

from __future__ import annotations


class SortedSpans:
    """Sorted, non-overlapping `(start, end)` spans, asked about in order of increasing start."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self._spans = spans
        self._next = 0

    def overlaps(self, start: int, end: int) -> bool:
        """Whether `[start, end)` overlaps a span; `start` must not go back between calls."""
        spans, i = self._spans, self._next
        while i < len(spans) and spans[i][1] <= start:
            i += 1
        self._next = i
        return i < len(spans) and spans[i][0] < end
