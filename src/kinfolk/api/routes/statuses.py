"""Statuses: posting, reading, editing, deleting, threads, and the interactions on them."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.auth import authorize_if_token, current_viewer, require, require_user, viewer_account_id
from kinfolk.api.entities.account import render_accounts
from kinfolk.api.entities.poll import render_poll_for
from kinfolk.api.entities.scheduled_status import render_scheduled
from kinfolk.api.entities.status import render_history, render_posted, render_status, render_statuses
from kinfolk.api.http import as_bool, id_value, is_digits, json_response, path_id, read_params
from kinfolk.api.paging import ACCOUNTS, STATUSES, paged_response, parse_page
from kinfolk.api.params_status import idempotency_key, parse_post, parse_scheduled_at
from kinfolk.api.rate_limits import family
from kinfolk.api.uploads import as_upload
from kinfolk.container import Container
from kinfolk.db.database import UnitOfWork
from kinfolk.domain import backfill as backfill_requests
from kinfolk.domain import rate_limits
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.media import service as media_service
from kinfolk.domain.search.resolver import remote_resolver
from kinfolk.domain.statuses import interactions, queries, scheduled
from kinfolk.domain.statuses import service as statuses
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.statuses.repo import edits_for
from kinfolk.kernel.errors import NotFound


async def _visible_status(request: Request, uow: UnitOfWork, viewer_id: int | None) -> Status:
    status = await queries.find_visible(uow.session, path_id(request), viewer_id)
    if status is None:
        raise NotFound()
    return status


async def _render(
    container: Container, uow: UnitOfWork, status: Status, viewer_id: int | None
) -> dict[str, Any]:
    return await render_status(uow.session, container, status, viewer_id)


async def _resolve_mentions(request: Request, container: Container, params: dict[str, Any]) -> None:
    """Look up unknown `@user@host` mentions on their servers before the post's unit of work
    opens (a slow server must not hold the transaction); the post then finds them stored."""
    text = params.get("status")
    if not isinstance(text, str) or "@" not in text:
        return
    remote = statuses.remote_mentions(container.settings, text)
    if not remote:
        return
    async with container.db.uow(write=False) as uow:
        await require_user(request, uow, "write:statuses")
        unknown = await statuses.unknown_remote_mentions(uow.session, remote)
    if unknown:
        resolver = remote_resolver(container.extras)
        await asyncio.gather(*(resolver.resolve_handle(u, d) for u, d in unknown))


async def create(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    key = idempotency_key(request.headers.get("idempotency-key"))
    await _resolve_mentions(request, container, params)
    try:
        async with container.db.uow() as uow:
            viewer, account, user = await require_user(request, uow, "write:statuses")
            post = parse_post(
                params,
                viewer.application.id if viewer.application else None,
                max_characters=container.settings.max_status_characters,
            )
            when = parse_scheduled_at(params.get("scheduled_at"))
            async with family(request, rate_limits.STATUSES, account.id) as counted:
                if when is not None:
                    item = await scheduled.schedule(
                        uow, container.settings, account, post, when, idempotency_key=key
                    )
                    return json_response((await render_scheduled(uow.session, container, [item]))[0])
                posted = await statuses.post_status(
                    uow, container.settings, account, user, post, idempotency_key=key
                )
                if not posted.fresh:  # the Idempotency-Key's earlier status, answered again
                    await counted.refund()
        # Rendered once committed: on SQLite the write lock is not held while reading. The
        # author's stamp is read first, so the account kept with the status is never older
        # than its stamp says (see StatusDocuments.remember_posted).
        documents = request.app.state.status_documents
        stamp = await documents.account_stamp(container, account.id) if posted.fresh else None
        async with container.db.uow(write=False) as uow:
            body = await render_posted(uow.session, container, posted, viewer.application, user)
        if posted.fresh:
            documents.remember_posted(posted.status, body, stamp)
    except statuses.IdempotencyConflict:
        # A concurrent request with the same key committed first: answer with its status.
        async with container.db.uow(write=False) as uow:
            _, account, _ = await require_user(request, uow, "write:statuses")
            winner = await queries.by_idempotency_key(uow.session, account.id, key or "")
            if winner is None:
                raise
            body = await _render(container, uow, winner, account.id)
    return json_response(body)


async def show(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer = await current_viewer(request, uow)
        if viewer is not None:
            await require(request, uow, "read:statuses", user=False)
        viewer_id = viewer.account.id if viewer and viewer.account else None
        status = await _visible_status(request, uow, viewer_id)
        return json_response(await _render(container, uow, status, viewer_id))


async def show_many(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    raw = params.get("id") or []
    ids = [n for n in (id_value(i) for i in (raw if isinstance(raw, list) else [raw])) if n is not None][:20]
    async with container.db.uow(write=False) as uow:
        viewer = await current_viewer(request, uow)
        if viewer is not None:
            await require(request, uow, "read:statuses", user=False)
        viewer_id = viewer.account.id if viewer and viewer.account else None
        found = await queries.find_visible_many(uow.session, ids, viewer_id)
        return json_response(await render_statuses(uow.session, container, found, viewer_id))


async def destroy(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:statuses")
        status_id = path_id(request)
        # Rendered before deleting, so that a redraft gets the media back.
        existing = await queries.find_visible(uow.session, status_id, account.id)
        body = await _render(container, uow, existing, account.id) if existing else None
        status = await statuses.delete_status(
            uow, account, status_id, delete_media=as_bool(params.get("delete_media"))
        )
        if body is None:
            body = await _render(container, uow, status, account.id)
        body["text"] = status.text
        body["spoiler_text"] = status.spoiler_text
    return json_response(body)


async def update(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow(write=False) as uow:
        await require_user(request, uow, "write:statuses")
    post = parse_post(params, None, max_characters=container.settings.max_status_characters)
    await _resolve_mentions(request, container, params)
    # New thumbnails are processed and stored before the transaction, and removed if it fails.
    thumbnails = await _prepare_thumbnails(container, post.media_attributes)
    written = [k for p in thumbnails.values() for k in p.files.written]
    try:
        async with container.db.uow() as uow:
            _, account, _ = await require_user(request, uow, "write:statuses")
            status = await statuses.edit_status(
                uow, container.settings, account, path_id(request), post, thumbnails=thumbnails
            )
            body = await _render(container, uow, status, account.id)
    except BaseException:
        await media_service.discard_files(container.storage, written)
        raise
    return json_response(body)


async def _prepare_thumbnails(
    container: Container, attributes: list[dict[str, Any]]
) -> dict[int, media_service.PreparedUpdate]:
    prepared: dict[int, media_service.PreparedUpdate] = {}
    for attrs in attributes:
        upload = as_upload(
            attrs.get("thumbnail"), field="Thumbnail", max_bytes=container.settings.image_size_limit
        )
        media_id = id_value(str(attrs.get("id", "")))
        if upload is None or media_id is None:
            continue
        try:
            prepared[media_id] = await media_service.prepare_update(
                container.settings, container.storage, media_id, thumbnail=upload
            )
        except BaseException:
            await media_service.discard_files(
                container.storage, [k for p in prepared.values() for k in p.files.written]
            )
            raise
    return prepared


async def source(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:statuses")
        status = await _visible_status(request, uow, account.id)
        return json_response({"id": str(status.id), "text": status.text, "spoiler_text": status.spoiler_text})


async def history(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer_id = viewer_account_id(await authorize_if_token(request, uow, "read:statuses"))
        status = await _visible_status(request, uow, viewer_id)
        edits = await edits_for(uow.session, status.id)
        return json_response(await render_history(uow.session, container, status, edits))


async def context(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer = await current_viewer(request, uow)
        if viewer is not None:
            await require(request, uow, "read:statuses", user=False)
        viewer_id = viewer.account.id if viewer and viewer.account else None
        status = await _visible_status(request, uow, viewer_id)
        ancestors, descendants = await queries.thread(uow.session, status, viewer_id)
        rendered = await render_statuses(uow.session, container, ancestors + descendants, viewer_id)
        # A thread with remote posts has its missing ones fetched in the background, once an
        # hour at most (`domain/backfill.py`).
        root = ancestors[0] if ancestors else status
        remote = not root.local or any(not s.local for s in descendants)
        backfill = remote and not await backfill_requests.thread_recently_asked(uow, root.id)
    if backfill:
        root_id = root.id
        await backfill_requests.ask_from_a_read(
            container.db, lambda uow: backfill_requests.request_thread(uow, root_id)
        )
    return json_response({"ancestors": rendered[: len(ancestors)], "descendants": rendered[len(ancestors) :]})


def _interaction(action: str, scope: str) -> Any:
    async def handler(request: Request) -> Response:
        container = get_container(request)
        params = await read_params(request)
        async with container.db.uow() as uow:
            _, account, _ = await require_user(request, uow, scope)
            status_id = path_id(request)
            if action == "reblog":
                async with family(request, rate_limits.STATUSES, account.id):
                    boost = await statuses.reblog(
                        uow, container.settings, account, status_id, params.get("visibility")
                    )
                return json_response(await _render(container, uow, boost, account.id))
            if action == "unreblog":
                target = await statuses.unreblog(uow, account, status_id)
            else:
                target = await interactions.apply(uow, account, status_id, action)
            return json_response(await _render(container, uow, target, account.id))

    return handler


def _interacted_by(kind: str) -> Any:
    async def handler(request: Request) -> Response:
        container = get_container(request)
        page = parse_page(request.query_params, ACCOUNTS)
        async with container.db.uow(write=False) as uow:
            # Mastodon's controllers ask for read:accounts, its documentation for read:statuses.
            viewer = await authorize_if_token(request, uow, "read:accounts", "read:statuses")
            viewer_id = viewer_account_id(viewer)
            status = await _visible_status(request, uow, viewer_id)
            rows = await queries.interacted_by(uow.session, status.id, kind, page)
            accounts = await render_accounts(uow.session, [a for _, a in rows], container)
            return paged_response(
                request, accounts, page, [pid for pid, _ in rows], base_url=container.settings.base_url
            )

    return handler


def _own_list(kind: str, scope: str) -> Any:
    async def handler(request: Request) -> Response:
        container = get_container(request)
        page = parse_page(request.query_params, STATUSES)
        async with container.db.uow(write=False) as uow:
            _, account, _ = await require_user(request, uow, scope)
            rows = await queries.own_interactions(uow.session, account.id, kind, page)
            rendered = await render_statuses(uow.session, container, [s for _, s in rows], account.id)
            return paged_response(
                request, rendered, page, [pid for pid, _ in rows], base_url=container.settings.base_url
            )

    return handler


async def show_poll(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        viewer_id = viewer_account_id(await authorize_if_token(request, uow, "read:statuses"))
        poll, _ = await queries.visible_poll(uow.session, path_id(request), viewer_id)
        return json_response(await render_poll_for(uow.session, poll, viewer_id))


async def vote(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    async with container.db.uow() as uow:
        _, account, _ = await require_user(request, uow, "write:statuses")
        poll, _ = await queries.visible_poll(uow.session, path_id(request), account.id)
        raw = params.get("choices") or []
        raw_list = raw if isinstance(raw, list) else list(raw.values()) if isinstance(raw, dict) else [raw]
        choices = [
            int(c)
            for c in raw_list
            if isinstance(c, int | str) and is_digits(str(c).strip().lstrip("-")) and len(str(c).strip()) < 10
        ]
        if len(choices) != len(raw_list):
            from kinfolk.kernel.errors import Unprocessable

            raise Unprocessable("Validation failed: Choices are invalid")
        await interactions.vote(
            uow, poll, account, choices, update_delay=container.settings.poll_update_delay
        )
        return json_response(await render_poll_for(uow.session, poll, account.id))


async def translate(request: Request) -> Response:
    container = get_container(request)
    async with container.db.uow(write=False) as uow:
        _, account, _ = await require_user(request, uow, "read:statuses")
        await _visible_status(request, uow, account.id)
    # No translation backend is configured: Mastodon answers 404 in that case.
    raise NotFound("Translation service not configured")


async def account_statuses(request: Request) -> Response:
    container = get_container(request)
    params = await read_params(request)
    page = parse_page(params, STATUSES)
    async with container.db.uow(write=False) as uow:
        viewer = await current_viewer(request, uow)
        if viewer is not None:
            await require(request, uow, "read:statuses", user=False)
        viewer_id = viewer.account.id if viewer and viewer.account else None
        tagged = params.get("tagged")
        filters = queries.ProfileFilter(
            pinned=as_bool(params.get("pinned")),
            only_media=as_bool(params.get("only_media")),
            exclude_replies=as_bool(params.get("exclude_replies")),
            exclude_reblogs=as_bool(params.get("exclude_reblogs")),
            exclude_direct=as_bool(params.get("exclude_direct")),
            tagged=tagged if isinstance(tagged, str) else None,
        )
        account_id = path_id(request)
        found = await queries.account_statuses(uow.session, account_id, viewer_id, page, filters)
        rendered = await render_statuses(uow.session, container, found, viewer_id)
        # A remote profile opened for the first time: its recent public posts are fetched.
        owner = await uow.session.get(Account, account_id)
        backfill = (
            owner is not None
            and owner.domain is not None
            and owner.suspended_at is None
            and not await backfill_requests.profile_asked(uow, account_id)
        )
    if backfill:
        await backfill_requests.ask_from_a_read(
            container.db, lambda uow: backfill_requests.request_profile(uow, account_id)
        )
    ids = [s.id for s in found]
    return paged_response(request, rendered, page, ids, base_url=container.settings.base_url)


routes: list[BaseRoute] = [
    Route("/api/v1/statuses", create, methods=["POST"]),
    Route("/api/v1/statuses", show_many, methods=["GET"]),
    Route("/api/v1/statuses/{id}", show, methods=["GET"]),
    Route("/api/v1/statuses/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/statuses/{id}", update, methods=["PUT"]),
    Route("/api/v1/statuses/{id}/source", source, methods=["GET"]),
    Route("/api/v1/statuses/{id}/history", history, methods=["GET"]),
    Route("/api/v1/statuses/{id}/context", context, methods=["GET"]),
    Route("/api/v1/statuses/{id}/translate", translate, methods=["POST"]),
    Route("/api/v1/statuses/{id}/favourited_by", _interacted_by("favourite"), methods=["GET"]),
    Route("/api/v1/statuses/{id}/reblogged_by", _interacted_by("reblog"), methods=["GET"]),
    Route("/api/v1/statuses/{id}/reblog", _interaction("reblog", "write:statuses"), methods=["POST"]),
    Route("/api/v1/statuses/{id}/unreblog", _interaction("unreblog", "write:statuses"), methods=["POST"]),
    Route("/api/v1/statuses/{id}/favourite", _interaction("favourite", "write:favourites"), methods=["POST"]),
    Route(
        "/api/v1/statuses/{id}/unfavourite", _interaction("unfavourite", "write:favourites"), methods=["POST"]
    ),
    Route("/api/v1/statuses/{id}/bookmark", _interaction("bookmark", "write:bookmarks"), methods=["POST"]),
    Route(
        "/api/v1/statuses/{id}/unbookmark", _interaction("unbookmark", "write:bookmarks"), methods=["POST"]
    ),
    Route("/api/v1/statuses/{id}/pin", _interaction("pin", "write:accounts"), methods=["POST"]),
    Route("/api/v1/statuses/{id}/unpin", _interaction("unpin", "write:accounts"), methods=["POST"]),
    Route("/api/v1/statuses/{id}/mute", _interaction("mute", "write:mutes"), methods=["POST"]),
    Route("/api/v1/statuses/{id}/unmute", _interaction("unmute", "write:mutes"), methods=["POST"]),
    Route("/api/v1/favourites", _own_list("favourite", "read:favourites"), methods=["GET"]),
    Route("/api/v1/bookmarks", _own_list("bookmark", "read:bookmarks"), methods=["GET"]),
    Route("/api/v1/polls/{id}", show_poll, methods=["GET"]),
    Route("/api/v1/polls/{id}/votes", vote, methods=["POST"]),
    Route("/api/v1/accounts/{id}/statuses", account_statuses, methods=["GET"]),
]
