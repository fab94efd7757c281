"""The home timeline's cached read path (api/home_page.py) answers exactly what the ORM path
answers, for every kind of status and every viewer flag, and notices every change: edits,
counters, profile updates, flags, deletions, polls."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import update
from starlette.applications import Starlette

from kinfolk.api import home_page
from kinfolk.api.entities.status import render_statuses
from kinfolk.api.entities.status_documents import StatusDocuments
from kinfolk.container import Container
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.timelines import service
from kinfolk.kernel.paging import Page

HOME = "/api/v1/timelines/home"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005"
    "0001ff5fa7ca0e0000000049454e44ae426082"
)


async def post(client: httpx.AsyncClient, user: Any, text: str, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per home request: whether the cached path answered it."""
    answers: list[bool] = []
    original = home_page.serve

    async def spy(*args: Any, **kwargs: Any) -> Any:
        response = await original(*args, **kwargs)
        answers.append(response is not None)
        return response

    monkeypatch.setattr(home_page, "serve", spy)
    return answers


async def orm_page(container: Container, viewer_id: int, limit: int) -> list[dict[str, Any]]:
    async with container.db.uow(write=False) as uow:
        statuses = await service.home(uow.session, viewer_id, Page(limit=limit))
        rendered = await render_statuses(uow.session, container, statuses, viewer_id)
    loaded: list[dict[str, Any]] = orjson.loads(orjson.dumps(rendered))
    return loaded


async def check(client: httpx.AsyncClient, container: Container, user: Any, served: list[bool]) -> list[Any]:
    response = await client.get(HOME, params={"limit": "8"}, headers=user.headers)
    assert response.status_code == 200, response.text
    assert served[-1] is True, "the cached path declined"
    expected = await orm_page(container, user.account_id, 8)
    for got, want in zip(response.json(), expected, strict=True):
        for key in sorted(set(got) | set(want)):
            assert got.get(key, "<absent>") == want.get(key, "<absent>"), (got["id"], key)
    body: list[Any] = response.json()
    return body


async def test_cached_page_equals_the_orm_page_and_follows_every_change(
    client: httpx.AsyncClient,
    app: Starlette,
    container: Container,
    make_user: Any,
    drain_jobs: Any,
    served: list[bool],
) -> None:
    viewer = await make_user("viewer")
    author = await make_user("author")
    booster = await make_user("booster")
    stranger = await make_user("stranger")
    for target in (author, booster):
        response = await client.post(f"/api/v1/accounts/{target.account_id}/follow", headers=viewer.headers)
        assert response.status_code == 200
    await drain_jobs()

    plain = await post(client, author, "hello #tag @viewer https://example.com/x")
    media = await client.post(
        "/api/v2/media", files={"file": ("a.png", PNG, "image/png")}, headers=author.headers
    )
    assert media.status_code == 200, media.text
    with_media = await post(client, author, "a picture", **{"media_ids[]": media.json()["id"]})
    poll = await post(
        client, author, "a poll", **{"poll[options][]": ["yes", "no"], "poll[expires_in]": "3600"}
    )
    own = await post(client, viewer, "my own post")
    quote = await post(client, author, "quoting", quoted_status_id=own["id"])
    unfollowed = await post(client, stranger, "from someone the viewer does not follow")
    boost = await client.post(f"/api/v1/statuses/{unfollowed['id']}/reblog", headers=booster.headers)
    assert boost.status_code == 200
    reply = await post(client, author, "a reply in a thread", in_reply_to_id=own["id"])
    newest = await post(client, author, "one more")
    await drain_jobs()

    page = await check(client, container, viewer, served)
    assert len(page) == 8
    assert any(s["reblog"] for s in page) and any(s["poll"] for s in page) and any(s["quote"] for s in page)
    assert next(s for s in page if s["id"] == own["id"])["application"] is not None

    # Flags of the viewer's, on statuses and on boosted originals.
    for action in ("favourite", "bookmark"):
        for target in (plain, unfollowed):
            assert (
                await client.post(f"/api/v1/statuses/{target['id']}/{action}", headers=viewer.headers)
            ).is_success
    assert (
        await client.post(f"/api/v1/statuses/{with_media['id']}/reblog", headers=viewer.headers)
    ).is_success
    assert (await client.post(f"/api/v1/statuses/{own['id']}/pin", headers=viewer.headers)).is_success
    assert (await client.post(f"/api/v1/statuses/{reply['id']}/mute", headers=viewer.headers)).is_success
    vote = await client.post(
        f"/api/v1/polls/{poll['poll']['id']}/votes", data={"choices[]": "1"}, headers=viewer.headers
    )
    assert vote.status_code == 200, vote.text
    await drain_jobs()
    page = await check(client, container, viewer, served)
    boosted = next(s for s in page if s["reblog"] and s["reblog"]["id"] == unfollowed["id"])
    assert boosted["reblog"]["favourited"] is True and boosted["reblog"]["bookmarked"] is True
    assert next(s for s in page if s["id"] == own["id"])["pinned"] is True

    # Others' actions change counters; edits change content; profiles change the account.
    for target in (with_media, unfollowed):
        assert (
            await client.post(f"/api/v1/statuses/{target['id']}/favourite", headers=stranger.headers)
        ).is_success
    edited = await client.put(
        f"/api/v1/statuses/{newest['id']}", data={"status": "hello again"}, headers=author.headers
    )
    assert edited.status_code == 200, edited.text
    profile = await client.patch(
        "/api/v1/accounts/update_credentials", data={"display_name": "Renamed"}, headers=author.headers
    )
    assert profile.status_code == 200
    await drain_jobs()
    page = await check(client, container, viewer, served)
    assert any("hello again" in s["content"] for s in page)
    assert all(
        s["account"]["display_name"] == "Renamed"
        for s in page
        if s["account"]["id"] == str(author.account_id)
    )

    # A status whose media is still processing is rendered by the ORM path until it is ready
    # (media only ever goes from processing to ready), then kept.
    upload = await client.post(
        "/api/v2/media", files={"file": ("b.png", PNG, "image/png")}, headers=author.headers
    )
    media_id = int(upload.json()["id"])
    later = await post(client, author, "processing", **{"media_ids[]": str(media_id)})
    # As a remote status's media are while they are fetched (a local status cannot be posted
    # with media still processing).
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(MediaAttachment).where(MediaAttachment.id == media_id).values(state="processing")
        )
    # Nor was such a status posted through this process, which keeps what it posts rendered.
    app.state.status_documents.statuses.pop(int(later["id"]))
    await drain_jobs()
    page = await check(client, container, viewer, served)
    assert next(s for s in page if s["id"] == later["id"])["media_attachments"][0]["url"] is None
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(MediaAttachment).where(MediaAttachment.id == media_id).values(state="ready")
        )
    page = await check(client, container, viewer, served)
    assert next(s for s in page if s["id"] == later["id"])["media_attachments"][0]["url"] is not None

    # A deleted status leaves the page.
    assert (await client.delete(f"/api/v1/statuses/{quote['id']}", headers=author.headers)).is_success
    await drain_jobs()
    page = await check(client, container, viewer, served)
    assert quote["id"] not in [s["id"] for s in page]


async def test_a_status_posted_here_is_read_without_rendering_it_again(
    client: httpx.AsyncClient,
    container: Container,
    make_user: Any,
    drain_jobs: Any,
    served: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    viewer = await make_user("viewer")
    author = await make_user("author")
    follow = await client.post(f"/api/v1/accounts/{author.account_id}/follow", headers=viewer.headers)
    assert follow.status_code == 200
    for i in range(8):
        await post(client, author, f"earlier {i} #tag")
    await drain_jobs()
    await check(client, container, viewer, served)  # the earlier ones are kept now

    filled: list[int] = []
    accounts_filled: list[int] = []
    original = StatusDocuments.fill

    async def spy(
        self: StatusDocuments, session: Any, container: Container, statuses: Any, accounts: Any, *rest: Any
    ) -> None:
        filled.extend(statuses)
        accounts_filled.extend(accounts)
        await original(self, session, container, statuses, accounts, *rest)

    monkeypatch.setattr(StatusDocuments, "fill", spy)
    fresh = await post(client, author, "new, with @viewer and #tag", language="fr", spoiler_text="cw")
    await drain_jobs()
    page = await check(client, container, viewer, served)
    assert page[0]["id"] == fresh["id"]
    assert int(fresh["id"]) not in filled
    # Nor its author, whose counters the post changed (check() compared the bodies).
    assert author.account_id not in accounts_filled
    assert page[0]["account"]["statuses_count"] == 9
    # Once favourited its counters change, and the page renders it anew.
    favourited = await client.post(f"/api/v1/statuses/{fresh['id']}/favourite", headers=viewer.headers)
    assert favourited.status_code == 200
    page = await check(client, container, viewer, served)
    assert page[0]["favourites_count"] == 1 and int(fresh["id"]) in filled


async def test_cached_path_declines_what_it_does_not_handle(
    client: httpx.AsyncClient, make_user: Any, drain_jobs: Any, served: list[bool]
) -> None:
    viewer = await make_user("viewer")
    for i in range(3):
        await post(client, viewer, f"post {i}")
    await drain_jobs()
    assert (await client.get(HOME, params={"limit": "2"}, headers=viewer.headers)).status_code == 200
    assert served[-1] is True
    # A page the feed cannot fill reads through below it: the ORM path.
    assert (await client.get(HOME, params={"limit": "10"}, headers=viewer.headers)).status_code == 200
    assert served[-1] is False
    # min_id pages, bad tokens, app tokens without a user, missing scopes: the ORM path answers.
    assert (
        await client.get(HOME, params={"min_id": "1", "limit": "2"}, headers=viewer.headers)
    ).status_code == 200
    assert served[-1] is False
    assert (await client.get(HOME, headers={"Authorization": "Bearer nope"})).status_code == 401
    assert served[-1] is False
    writer = await make_user("writer", scopes="write")
    assert (await client.get(HOME, headers=writer.headers)).status_code == 403
    # A viewer with filters: the ORM path, which applies them.
    created = await client.post(
        "/api/v2/filters",
        json={
            "title": "x",
            "context": ["home"],
            "filter_action": "hide",
            "keywords_attributes": [{"keyword": "post 2"}],
        },
        headers=viewer.headers,
    )
    assert created.status_code == 200, created.text
    response = await client.get(HOME, params={"limit": "2"}, headers=viewer.headers)
    assert served[-1] is False
    assert all("post 2" not in s["content"] for s in response.json())
