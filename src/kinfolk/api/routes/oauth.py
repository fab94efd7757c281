"""Routes for oauth (filled in by the oauth work)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
