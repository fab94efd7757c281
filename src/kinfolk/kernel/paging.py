"""Id-window pagination as Mastodon does it, independent of HTTP.

A `Page` says which slice of an id-ordered listing the client wants: below `max_id`, above
`since_id` (the newest ones), or just above `min_id` (walking forward, the oldest ones first).
The ids are *pagination ids*: whatever column orders the listing (a status id for timelines, a
`follows.id` for follower lists), not necessarily the ids of the rows a client sees.

Repositories apply a page with `Page.apply(stmt, column)` and put the rows back in
newest-first order with `Page.arrange(rows)`. The API layer parses pages from requests and
writes `Link` headers (kinfolk.api.paging); domain code only ever sees this type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

T = TypeVar("T")
# A SQLAlchemy Select of any row shape (its type parameters vary with the columns).
S = TypeVar("S")
Column = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class Page:
    limit: int
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None

    @property
    def forward(self) -> bool:
        """A `min_id` page is read oldest-first, so that it holds the rows just after `min_id`."""
        return self.min_id is not None

    def conditions(self, column: Column) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.max_id is not None:
            conds.append(column < self.max_id)
        if self.since_id is not None:
            conds.append(column > self.since_id)
        if self.min_id is not None:
            conds.append(column > self.min_id)
        return conds

    def apply(self, stmt: S, column: Column) -> S:
        """Filter, order and limit `stmt` on `column`; follow with `arrange` on the results."""
        select: Any = stmt
        conds = self.conditions(column)
        if conds:
            select = select.where(*conds)
        order = column.asc() if self.forward else column.desc()
        result: S = select.order_by(order).limit(self.limit)
        return result

    def arrange(self, rows: Sequence[T]) -> list[T]:
        """Rows newest first, whichever direction they were read in."""
        return list(reversed(rows)) if self.forward else list(rows)


@dataclass(frozen=True)
class Paged(Generic[T]):
    """One page of items with the pagination id of each, newest first (same order)."""

    items: list[T]
    ids: list[int]

    def __post_init__(self) -> None:
        if len(self.items) != len(self.ids):
            raise ValueError("every item needs its pagination id")

    @classmethod
    def of(cls, pairs: Sequence[tuple[int, T]]) -> Paged[T]:
        return cls(items=[item for _, item in pairs], ids=[pid for pid, _ in pairs])
