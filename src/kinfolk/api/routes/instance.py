"""Routes for instance (filled in by the instance work)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
