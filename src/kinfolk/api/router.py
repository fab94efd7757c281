"""Route dispatch by an index instead of a scan.

Starlette's router tries every route's regular expression in turn; with Kinfolk's few hundred
routes that scan was 70% of the cost of the cheapest request (bench/RESULTS.md). This router
asks only the routes that could match: those whose path is exactly the request's, and those
whose leading literal segments equal the request's. It tries them in their original order, so
the first full match, the 405 of a partial match, and everything else Starlette decides are
unchanged; a request no candidate takes goes through Starlette's own scan (404s and the
trailing-slash redirect).

Given `origin` (the configured `protocol://domain`), the trailing-slash redirect is made here
on that origin instead: Starlette builds it from the request's Host header, which a client
chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Match, Router, get_route_path
from starlette.types import Receive, Scope, Send

# How many leading literal segments key a parametrised route.
_DEPTH = 3


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _literal_prefix(path: str) -> tuple[str, ...]:
    """The segments before the first one holding a parameter, at most `_DEPTH` of them."""
    literal: list[str] = []
    for segment in _segments(path):
        if "{" in segment or len(literal) == _DEPTH:
            break
        literal.append(segment)
    return tuple(literal)


class IndexedRouter(Router):
    def __init__(
        self, routes: list[BaseRoute], *, origin: Callable[[], str] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(routes=routes, **kwargs)
        self.origin = origin
        # With an origin, this router makes the trailing-slash redirect and Starlette's never does.
        self.slash_redirects = self.redirect_slashes
        if origin is not None:
            self.redirect_slashes = False
        self._index()

    def _index(self) -> None:
        self._indexed = len(self.routes)
        self._exact: dict[str, list[tuple[int, BaseRoute]]] = {}
        self._prefixed: dict[tuple[str, ...], list[tuple[int, BaseRoute]]] = {}
        self._anywhere: list[tuple[int, BaseRoute]] = []
        for position, route in enumerate(self.routes):
            path = getattr(route, "path", None)
            if not isinstance(path, str):
                self._anywhere.append((position, route))
            elif "{" not in path and type(route).__name__ != "Mount":
                self._exact.setdefault(path, []).append((position, route))
            else:
                prefix = _literal_prefix(path)
                if prefix:
                    self._prefixed.setdefault(prefix, []).append((position, route))
                else:
                    self._anywhere.append((position, route))

    def _candidates(self, path: str) -> list[tuple[int, BaseRoute]]:
        found = list(self._exact.get(path, ()))
        found.extend(self._anywhere)
        segments = _segments(path)
        for depth in range(1, min(_DEPTH, len(segments)) + 1):
            found.extend(self._prefixed.get(tuple(segments[:depth]), ()))
        found.sort(key=lambda pair: pair[0])
        return found

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await super().app(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        if len(self.routes) != self._indexed:  # a route added after start-up
            self._index()
        partial: BaseRoute | None = None
        partial_scope: Any = {}
        for _, route in self._candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        if self.origin is not None and self.slash_redirects and scope["type"] == "http":
            target = self._slash_twin(scope)
            if target is not None:
                query = scope.get("query_string", b"").decode("latin-1")
                url = self.origin().rstrip("/") + target + (f"?{query}" if query else "")
                await RedirectResponse(url)(scope, receive, send)
                return
        await super().app(scope, receive, send)

    def _slash_twin(self, scope: Scope) -> str | None:
        """The path with its trailing slash added or removed, if a route takes that one."""
        path = get_route_path(scope)
        if path == "/":
            return None
        twin = path.rstrip("/") if path.endswith("/") else path + "/"
        twin_scope = dict(scope, path=scope.get("root_path", "") + twin)
        if any(route.matches(twin_scope)[0] is not Match.NONE for _, route in self._candidates(twin)):
            return str(twin_scope["path"])
        return None
