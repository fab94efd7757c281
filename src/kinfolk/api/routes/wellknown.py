"""Routes for wellknown (filled in by the wellknown work)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
