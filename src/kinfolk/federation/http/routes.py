"""GET routes for actors, statuses, activities and collections, with content negotiation.

One URL answers both audiences: ActivityStreams JSON for servers, an HTML page for browsers
(`negotiation.wants_json`). What an unsigned fetch may read is decided by the one visibility
policy with no viewer (public and unlisted statuses only); anything else, like an unknown,
suspended or unapproved account, answers 404 exactly as a name that exists nowhere; a deleted
account's actor answers 410 Gone (a `Tombstone` for servers).

In secure mode (`settings.authorized_fetch`, `http/authorized.py`) the JSON answers need a
signature, and the signer is the viewer; the HTML pages and `/actor` do not change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from kinfolk.api.app import get_container
from kinfolk.api.http import JSONResponse
from kinfolk.container import Container
from kinfolk.domain.accounts import repo as accounts_repo
from kinfolk.domain.accounts.models import Account, User
from kinfolk.domain.accounts.profile import attribution_domains
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.tags import repo as tags_repo
from kinfolk.domain.timelines import service as timelines
from kinfolk.federation import repo
from kinfolk.federation.http import authorized, inbox
from kinfolk.federation.http.negotiation import CONTENT_TYPE, wants_json
from kinfolk.federation.instance_key import instance_key
from kinfolk.federation.render.actor import render_actor
from kinfolk.federation.render.announce import render_announce, render_announce_object
from kinfolk.federation.render.collections import (
    PAGE_SIZE,
    PageCursor,
    render_collection,
    render_featured,
    render_featured_tags,
    render_page,
)
from kinfolk.federation.render.create import render_create, render_create_object
from kinfolk.federation.render.env import AS_CONTEXT, RenderEnv
from kinfolk.federation.render.instance_actor import render_instance_actor
from kinfolk.federation.render.note import render_note, render_note_object, status_page, status_uri
from kinfolk.kernel.errors import Gone, NotFound
from kinfolk.kernel.ids import id_value
from kinfolk.kernel.paging import Page
from kinfolk.web.templating import render_page as render_html

# Public documents may be cached briefly; `Vary: Accept` keeps the page and the JSON apart.
PUBLIC_CACHE = "public, max-age=180"
PROFILE_POSTS = 20


class ActivityResponse(JSONResponse):
    media_type = CONTENT_TYPE


def render_env(container: Container) -> RenderEnv:
    settings = container.settings
    return RenderEnv(uris=container.uris, domain=settings.domain, media_url=container.storage.url)


def activity_json(document: dict[str, Any], container: Container | None = None) -> Response:
    """The JSON answer; in secure mode never cached by a shared cache (it depends on the signer)."""
    if container is not None and authorized.secure_mode(container):
        headers = {"Vary": authorized.SECURE_VARY, "Cache-Control": authorized.PRIVATE_CACHE}
    else:
        headers = {"Vary": "Accept", "Cache-Control": PUBLIC_CACHE}
    return ActivityResponse(document, headers=headers)


def _html(container: Container, template: str, context: dict[str, Any]) -> Response:
    response = render_html(template, {"instance_title": container.settings.instance_title, **context})
    response.headers["Vary"] = "Accept"
    return response


def _wants_json(request: Request) -> bool:
    """Ids (`/users/...`) default to JSON when the header names neither; pages (`/@...`) to HTML."""
    return wants_json(request.headers.get("accept"), default_json=request.url.path.startswith("/users/"))


def _cursor(request: Request) -> PageCursor | None:
    """The page asked for, or None for the collection itself (no `page`, `max_id` or `min_id`)."""
    params = request.query_params
    if not ({"page", "max_id", "min_id"} & set(params.keys())):
        return None
    max_id = id_value(params["max_id"]) if "max_id" in params else None
    min_id = id_value(params["min_id"]) if "min_id" in params else None
    if ("max_id" in params and max_id is None) or ("min_id" in params and min_id is None):
        raise NotFound()
    return PageCursor(max_id=max_id, min_id=min_id)


async def _actor(container: Container, username: str) -> tuple[Account, User | None]:
    async with container.db.uow(write=False) as uow:
        found = await repo.local_actor(uow.session, username)
    if found is None:
        raise NotFound()
    return found


# --- actors -----------------------------------------------------------------------------------


async def actor(request: Request) -> Response:
    container = get_container(request)
    env = render_env(container)
    async with container.db.uow(write=False) as uow:
        found = await repo.local_actor(uow.session, request.path_params["username"])
        if found is None:
            gone = await repo.deleted_local_actor(uow.session, request.path_params["username"])
            if gone is None:
                raise NotFound()
            return _gone(request, env, gone)
        account, user = found
        wants = _wants_json(request)
        if wants:
            domains = attribution_domains(user) if user is not None else []
            emojis = await repo.actor_emojis(uow.session, env, account)
            document = render_actor(env, account, attribution_domains=domains, emojis=emojis)
    if wants:
        if authorized.secure_mode(container) and not authorized.is_signed(request):
            # Mastodon: the barebones actor, so that anyone can still check its signatures.
            return activity_json(authorized.minimal_actor(document), container)
        await authorized.requester(request, container)
        return activity_json(document, container)
    async with container.db.uow(write=False) as uow:
        statuses, _ = await repo.outbox_page(uow.session, account.id, PageCursor(), PROFILE_POSTS)
        originals = await repo.note_rows(uow.session, env, [s for s in statuses if s.reblog_of_id is None])
    posts = [
        {"rows": rows, "url": status_page(env, rows.status, rows.author), "published": rows.status.created_at}
        for rows in originals
    ]
    return _html(
        container,
        "profile.html",
        {"account": account, "acct": f"{account.username}@{env.domain}", "posts": posts},
    )


def _gone(request: Request, env: RenderEnv, account: Account) -> Response:
    """A deleted account: 410 Gone, to servers with a `Tombstone` of the actor (as Mastodon), so
    that a server refreshing its copy learns that it is gone rather than missing."""
    if not _wants_json(request):
        raise Gone()
    tombstone = {"@context": AS_CONTEXT, "id": env.uris.account_id(account), "type": "Tombstone"}
    return ActivityResponse(
        tombstone, status_code=410, headers={"Vary": "Accept", "Cache-Control": PUBLIC_CACHE}
    )


async def instance_actor(request: Request) -> Response:
    container = get_container(request)
    if not wants_json(request.headers.get("accept"), default_json=True):
        return RedirectResponse(container.settings.base_url + "/", status_code=302)
    keys = await instance_key(container.db)
    return activity_json(render_instance_actor(render_env(container), keys.public_key_pem))


# --- statuses ---------------------------------------------------------------------------------


async def _status(
    container: Container, request: Request, viewer: Account | None = None
) -> tuple[Account, Status]:
    status_id = id_value(request.path_params["id"])
    if status_id is None:
        raise NotFound()
    account, _ = await _actor(container, request.path_params["username"])
    async with container.db.uow(write=False) as uow:
        status = await repo.public_status(uow.session, account, status_id, viewer)
    if status is None:
        raise NotFound()
    return account, status


async def status(request: Request) -> Response:
    container = get_container(request)
    env = render_env(container)
    wants = _wants_json(request)
    viewer = await authorized.requester(request, container) if wants else None
    account, found = await _status(container, request, viewer)
    if found.reblog_of_id is not None:
        raise NotFound()
    async with container.db.uow(write=False) as uow:
        [rows] = await repo.note_rows(uow.session, env, [found])
    if wants:
        return activity_json(render_note(env, rows), container)
    return _html(
        container,
        "status.html",
        {
            "account": account,
            "acct": f"{account.username}@{env.domain}",
            "profile_url": env.uris.account_page(account),
            "rows": rows,
            "url": status_page(env, found, account),
        },
    )


async def status_activity(request: Request) -> Response:
    container = get_container(request)
    env = render_env(container)
    viewer = await authorized.requester(request, container)
    account, found = await _status(container, request, viewer)
    async with container.db.uow(write=False) as uow:
        if found.reblog_of_id is not None:
            boosted = await repo.boosted_of(uow.session, found)
            if boosted is None:
                raise NotFound()
            return activity_json(render_announce(env, found, account, boosted[0], boosted[1]), container)
        [rows] = await repo.note_rows(uow.session, env, [found])
    return activity_json(render_create(env, rows), container)


async def status_replies(request: Request) -> Response:
    """Public replies to a status, as ids (the stub every `Note` links to as `replies`),
    oldest first, `PAGE_SIZE` a page: a full page names the `next` one (`min_id` cursor), so
    a thread's walker reaches every reply, not only the first page's."""
    container = get_container(request)
    env = render_env(container)
    viewer = await authorized.requester(request, container)
    account, found = await _status(container, request, viewer)
    collection = env.uris.replies(account.username, found.id)
    cursor = _cursor(request)
    after = cursor.min_id if cursor is not None else None
    async with container.db.uow(write=False) as uow:
        replies = await repo.public_replies(uow.session, found.id, PAGE_SIZE, after=after)
        authors = {r.account_id for r in replies}
        accounts = await accounts_repo.get_accounts(uow.session, list(authors))
    items = [status_uri(env, r, accounts[r.account_id]) for r in replies if r.account_id in accounts]
    page: dict[str, Any] = {"type": "CollectionPage", "partOf": collection, "items": items}
    if len(replies) == PAGE_SIZE:
        page["next"] = f"{collection}?page=true&min_id={replies[-1].id}"
    if cursor is not None:
        page_id = f"{collection}?page=true" + (f"&min_id={after}" if after is not None else "")
        return activity_json({"@context": AS_CONTEXT, "id": page_id, **page}, container)
    return activity_json(
        {"@context": AS_CONTEXT, "id": collection, "type": "Collection", "first": page}, container
    )


async def thread_context(request: Request) -> Response:
    """A thread started here as an FEP-f228 `context` collection (every `Note` of it names this
    URL as its `context`): the ids of its public and unlisted posts, oldest first, paged like
    the replies, `attributedTo` the root's author. A thread started elsewhere, or whose root is
    not public, is not ours to list (404)."""
    container = get_container(request)
    env = render_env(container)
    await authorized.requester(request, container)
    conversation_id = id_value(request.path_params["id"])
    if conversation_id is None:
        raise NotFound()
    cursor = _cursor(request)
    after = cursor.min_id if cursor is not None else None
    async with container.db.uow(write=False) as uow:
        root = (await repo.local_thread_roots(uow.session, [conversation_id])).get(conversation_id)
        owner = await uow.session.get(Account, root.account_id) if root is not None else None
        if root is None or owner is None or root.visibility not in ("public", "unlisted"):
            raise NotFound()
        posts = await repo.thread_posts(uow.session, conversation_id, PAGE_SIZE, after=after)
        accounts = await accounts_repo.get_accounts(uow.session, list({p.account_id for p in posts}))
    collection = env.uris.context(conversation_id)
    items = [status_uri(env, p, accounts[p.account_id]) for p in posts if p.account_id in accounts]
    page: dict[str, Any] = {
        "id": f"{collection}?page=true" + (f"&min_id={after}" if after is not None else ""),
        "type": "OrderedCollectionPage",
        "partOf": collection,
        "orderedItems": items,
    }
    if len(posts) == PAGE_SIZE:
        page["next"] = f"{collection}?page=true&min_id={posts[-1].id}"
    if cursor is not None:
        return activity_json({"@context": AS_CONTEXT, **page}, container)
    document = {
        "@context": AS_CONTEXT,
        "id": collection,
        "type": "OrderedCollection",
        "attributedTo": env.uris.account_id(owner),
        "first": page,
    }
    return activity_json(document, container)


# --- collections ------------------------------------------------------------------------------


async def outbox(request: Request) -> Response:
    container = get_container(request)
    env = render_env(container)
    await authorized.requester(request, container)
    account, _ = await _actor(container, request.path_params["username"])
    collection = env.uris.outbox(account.username)
    cursor = _cursor(request)
    async with container.db.uow(write=False) as uow:
        if cursor is None:
            return activity_json(
                render_collection(collection, await repo.outbox_count(uow.session, account.id)), container
            )
        statuses, has_more = await repo.outbox_page(uow.session, account.id, cursor, PAGE_SIZE)
        notes = {
            rows.status.id: rows
            for rows in await repo.note_rows(
                uow.session, env, [s for s in statuses if s.reblog_of_id is None]
            )
        }
        items: list[dict[str, Any]] = []
        for s in statuses:
            if s.reblog_of_id is None:
                items.append(render_create_object(env, notes[s.id]))
                continue
            boosted = await repo.boosted_of(uow.session, s)
            if boosted is not None:
                items.append(render_announce_object(env, s, account, boosted[0], boosted[1]))
    page = render_page(collection, cursor, items, [s.id for s in statuses], has_more=has_more)
    return activity_json(page, container)


def _follow_collection(followers: bool) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        container = get_container(request)
        env = render_env(container)
        await authorized.requester(request, container)
        account, _ = await _actor(container, request.path_params["username"])
        uris = env.uris
        collection = uris.followers(account.username) if followers else uris.following(account.username)
        cursor = _cursor(request)
        async with container.db.uow(write=False) as uow:
            stats = await repo.stats(uow.session, account.id)
            total = (stats.followers_count if followers else stats.following_count) if stats else 0
            # An account that hides its network shows how many, never whom (as Mastodon).
            if cursor is None or account.hide_collections:
                document = render_collection(collection, total, paged=not account.hide_collections)
                return activity_json(document, container)
            rows, has_more = await repo.follow_page(
                uow.session, account.id, cursor, PAGE_SIZE, followers=followers
            )
        items = [uris.account_id(other) for _, other in rows]
        page = render_page(collection, cursor, items, [i for i, _ in rows], has_more=has_more)
        return activity_json(page, container)

    return handler


async def featured(request: Request) -> Response:
    container = get_container(request)
    env = render_env(container)
    await authorized.requester(request, container)
    account, _ = await _actor(container, request.path_params["username"])
    async with container.db.uow(write=False) as uow:
        rows = await repo.note_rows(uow.session, env, await repo.pinned(uow.session, account.id))
    notes = [render_note_object(env, r) for r in rows]
    return activity_json(render_featured(env.uris.featured(account.username), notes), container)


async def featured_tags(request: Request) -> Response:
    container = get_container(request)
    env = render_env(container)
    await authorized.requester(request, container)
    account, _ = await _actor(container, request.path_params["username"])
    async with container.db.uow(write=False) as uow:
        tags = await repo.featured_tags(uow.session, account.id)
    document = render_featured_tags(env, env.uris.featured_tags(account.username), tags)
    return activity_json(document, container)


# --- hashtags ---------------------------------------------------------------------------------

TAG_POSTS = 20


async def tag(request: Request) -> Response:
    """`/tags/<name>`, the URL every hashtag link and `tags[].url` names: for a browser a page of
    the tag's latest public posts, for a server (as Mastodon) an `OrderedCollection` of our own
    latest public posts with it. A tag nobody used is a 404 for both, as Mastodon."""
    container = get_container(request)
    env = render_env(container)
    name = str(request.path_params["name"])
    as_json = wants_json(request.headers.get("accept"), default_json=False)
    options = timelines.TagOptions(local=as_json)
    async with container.db.uow(write=False) as uow:
        found = await tags_repo.find_tag(uow.session, name)
        if found is None:
            raise NotFound()
        statuses = await timelines.hashtag(uow.session, None, found.name, Page(limit=TAG_POSTS), options)
        authors = await accounts_repo.get_accounts(uow.session, list({s.account_id for s in statuses}))
        total = await repo.tagged_count(uow.session, found.id) if as_json else 0
    shown = [(s, authors[s.account_id]) for s in statuses if s.account_id in authors]
    if as_json:
        return activity_json(
            {
                "@context": AS_CONTEXT,
                "id": env.uris.tag(found.name),
                "type": "OrderedCollection",
                "totalItems": total,
                "orderedItems": [status_uri(env, s, author) for s, author in shown],
            }
        )
    posts = [
        {
            "status": s,
            "author": author,
            "acct": author.acct if author.domain else f"{author.username}@{env.domain}",
            "profile_url": env.uris.account_page(author),
            "url": status_page(env, s, author),
        }
        for s, author in shown
    ]
    return _html(container, "tag.html", {"tag": found, "posts": posts})


def _get(path: str, endpoint: Any) -> Route:
    return Route(path, endpoint, methods=["GET", "HEAD"])


routes: list[BaseRoute] = [
    _get("/actor", instance_actor),
    _get("/users/{username}", actor),
    _get("/@{username}", actor),
    _get("/users/{username}/statuses/{id}", status),
    _get("/@{username}/{id}", status),
    _get("/users/{username}/statuses/{id}/activity", status_activity),
    _get("/users/{username}/statuses/{id}/replies", status_replies),
    _get("/contexts/{id}", thread_context),
    _get("/users/{username}/outbox", outbox),
    _get("/users/{username}/followers", _follow_collection(followers=True)),
    _get("/users/{username}/following", _follow_collection(followers=False)),
    _get("/users/{username}/collections/featured", featured),
    _get("/users/{username}/collections/tags", featured_tags),
    _get("/tags/{name}", tag),
    Route("/inbox", inbox.shared_inbox, methods=["POST"]),
    Route("/users/{username}/inbox", inbox.user_inbox, methods=["POST"]),
]
