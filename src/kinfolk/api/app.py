"""The ASGI application: routes from each area's module, error handlers, middleware."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute

from kinfolk.api.cors import CORSMiddleware
from kinfolk.api.entities.status_documents import StatusDocuments
from kinfolk.api.errors import EXCEPTION_HANDLERS
from kinfolk.api.middleware import BodyLimitMiddleware, HostCheckMiddleware, ProxyHeadersMiddleware
from kinfolk.api.rate_limits import RateLimitMiddleware
from kinfolk.api.request_log import RequestLogMiddleware
from kinfolk.api.router import IndexedRouter
from kinfolk.container import Container


def collect_routes() -> list[BaseRoute]:
    from kinfolk.api.routes import (
        accounts,
        apps,
        collections,
        conversations,
        directory,
        featured_tags,
        filters,
        instance,
        lists,
        markers,
        media,
        media_attachments,
        metrics,
        notifications,
        oauth,
        push,
        relationships,
        reports,
        scheduled_statuses,
        search,
        statuses,
        streaming,
        suggestions,
        tags,
        timelines,
        trends,
        wellknown,
    )
    from kinfolk.federation.http import routes as activitypub

    routes: list[BaseRoute] = []
    for module in (
        wellknown,
        oauth,
        apps,
        statuses,
        scheduled_statuses,
        filters,
        tags,
        featured_tags,
        search,
        trends,
        suggestions,
        timelines,
        lists,
        markers,
        conversations,
        streaming,
        relationships,
        collections,
        accounts,
        instance,
        directory,
        media_attachments,
        media,
        notifications,
        push,
        reports,
        metrics,
        activitypub,
    ):
        routes.extend(module.routes)
    return routes


def create_app(container: Container) -> Starlette:
    app = Starlette(
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            Middleware(ProxyHeadersMiddleware, settings=container.settings),
            Middleware(RequestLogMiddleware, access=container.settings.access_log),
            Middleware(HostCheckMiddleware, settings=container.settings),
            Middleware(CORSMiddleware),
            Middleware(RateLimitMiddleware, container=container),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=container.settings.max_body_bytes,
                larger=_upload_limits(container),
            ),
        ],
    )
    # Set before the first request builds the middleware stack around it.
    app.router = IndexedRouter(collect_routes(), origin=lambda: container.settings.base_url)
    app.state.container = container
    app.state.status_documents = StatusDocuments()
    return app


def _upload_limits(container: Container) -> tuple[tuple[str, int], ...]:
    """Media uploads may carry a video and a thumbnail image, plus the form around them."""
    settings = container.settings
    limit = max(settings.max_body_bytes, settings.video_size_limit + settings.image_size_limit + (1 << 20))
    return (("/api/v1/media", limit), ("/api/v2/media", limit))


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container
