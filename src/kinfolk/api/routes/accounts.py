"""Routes for accounts (filled in by the accounts work)."""

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
