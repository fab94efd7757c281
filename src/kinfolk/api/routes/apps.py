"""Routes for apps (filled in by the apps work)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
