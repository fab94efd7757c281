"""Routes for media (filled in by the media work)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
