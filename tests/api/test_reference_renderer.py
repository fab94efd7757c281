"""The ORM renderer (`render_statuses`) is the reference: the home page's cached fast path
(api/home_page.py) must answer byte-for-byte the same JSON (keys sorted) for every kind of
status a home timeline holds, local and remote, on its first read and on its cached second
read. A field added to one renderer only fails here.

(Kinfolk has no preview card model yet: `card` is null on both paths, compared like every
other field. Custom emojis are: a remote author and a remote status carry some.)"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from kinfolk.api import home_page
from kinfolk.api.entities.status import render_statuses
from kinfolk.api.entities.status_documents import StatusDocuments
from kinfolk.container import Container
from kinfolk.domain.cards.models import PreviewCard, StatusPreviewCard
from kinfolk.domain.emojis.service import RemoteEmoji, store_remote_emojis
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.media.remote import add_remote_media
from kinfolk.domain.polls.service import PollParams
from kinfolk.domain.relationships.models import Follow
from kinfolk.domain.statuses.models import Status
from kinfolk.kernel.clock import utcnow

HOME = "/api/v1/timelines/home"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005"
    "0001ff5fa7ca0e0000000049454e44ae426082"
)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per home request: whether the fast path answered it."""
    answers: list[bool] = []
    original = home_page.serve

    async def spy(*args: Any, **kwargs: Any) -> Any:
        response = await original(*args, **kwargs)
        answers.append(response is not None)
        return response

    monkeypatch.setattr(home_page, "serve", spy)
    return answers


def canonical(body: Any) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def differences(got: list[Any], want: list[Any]) -> list[tuple[str, str, Any, Any]]:
    """(status id, key, fast value, reference value) for every top-level field that differs."""
    found = []
    for a, b in zip(got, want, strict=True):
        for key in sorted(set(a) | set(b)):
            if canonical(a.get(key, "<absent>")) != canonical(b.get(key, "<absent>")):
                found.append((a["id"], key, a.get(key, "<absent>"), b.get(key, "<absent>")))
    for status_id, key, fast, reference in found:
        print(
            f"{status_id} {key}:\n  fast      {canonical(fast).decode()}\n  reference {canonical(reference).decode()}"
        )
    return found


async def post(client: httpx.AsyncClient, user: Any, text: str, **data: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/statuses", data={"status": text, **data}, headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def upload(client: httpx.AsyncClient, user: Any) -> str:
    response = await client.post(
        "/api/v2/media", files={"file": ("a.png", PNG, "image/png")}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    media_id: str = response.json()["id"]
    return media_id


async def test_fast_home_page_equals_the_reference_renderer_for_every_kind_of_status(
    client: httpx.AsyncClient,
    app: Starlette,
    container: Container,
    make_user: Any,
    make_remote_account: Any,
    make_remote_status: Any,
    drain_jobs: Any,
    served: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    viewer = await make_user("viewer")
    author = await make_user("author")
    booster = await make_user("booster")
    stranger = await make_user("stranger")
    for target in (author, booster):
        response = await client.post(f"/api/v1/accounts/{target.account_id}/follow", headers=viewer.headers)
        assert response.status_code == 200
    blobcat = RemoteEmoji("blobcat", "https://remote.example/emojis/blobcat.png")
    remote = await make_remote_account(
        "bob", "remote.example", display_name="Bob :blobcat:", note="<p>remote</p>", emojis=[blobcat]
    )
    other_remote = await make_remote_account("carol", "elsewhere.example")
    async with container.db.uow() as uow:
        # As an accepted remote follow leaves it.
        uow.session.add(Follow(account_id=viewer.account_id, target_account_id=remote.id))
    await drain_jobs()

    # Local statuses.
    tagged = await post(client, author, "hello #Tagged @viewer @bob@remote.example https://example.com/x")
    with_media = await post(client, author, "a picture", **{"media_ids[]": await upload(client, author)})
    voted_poll = await post(
        client, author, "a poll", **{"poll[options][]": ["yes", "no"], "poll[expires_in]": "3600"}
    )
    open_poll = await post(
        client,
        author,
        "another poll",
        **{"poll[options][]": ["a", "b", "c"], "poll[expires_in]": "3600", "poll[multiple]": "true"},
    )
    own = await post(client, viewer, "my own post")
    # The viewer's own direct message shows no `pinned` (it cannot be pinned), a private one does.
    own_direct = await post(client, viewer, "@author a direct message", visibility="direct")
    own_private = await post(client, viewer, "followers only", visibility="private")
    quote = await post(client, author, "quoting", quoted_status_id=own["id"])
    reply = await post(client, author, "a reply in a thread", in_reply_to_id=own["id"])
    sensitive = await post(client, author, "behind a warning", spoiler_text="cw", sensitive="true")
    edited = await post(client, author, "before the edit #Edits")
    unfollowed = await post(client, stranger, "from someone the viewer does not follow")
    boost_local = await client.post(f"/api/v1/statuses/{unfollowed['id']}/reblog", headers=booster.headers)
    assert boost_local.status_code == 200
    processing_media = await upload(client, author)
    processing = await post(client, author, "still processing", **{"media_ids[]": processing_media})

    # Remote statuses, stored as a remote `Create` stores them.
    remote_plain = await make_remote_status(
        remote,
        content='<p>hi <a href="https://remote.example/tags/fedi" class="mention hashtag">#<span>fedi</span></a></p>',
        mentions=[await _account(container, viewer.account_id), other_remote],
        tag_names=["fedi"],
        language="en",
    )
    await make_remote_status(remote, "remote poll", poll=PollParams(options=["x", "y"], expires_in=3600))
    async with container.db.uow() as uow:
        await store_remote_emojis(
            uow, "remote.example", [RemoteEmoji("party_parrot", "https://remote.example/emojis/pp.gif")]
        )
    with_emojis = await make_remote_status(
        remote, "remote :party_parrot: and :blobcat: and :unknown:", spoiler_text=":blobcat:"
    )
    await make_remote_status(
        remote, "remote, edited", edited_at=utcnow(), spoiler_text="spoiler", sensitive=True
    )
    await make_remote_status(remote, "remote reply", in_reply_to=await _status(container, int(tagged["id"])))
    by_other = await make_remote_status(other_remote, "someone the viewer does not follow")
    remote_media = await make_remote_status(remote, "a remote picture", sensitive=True)
    async with container.db.uow() as uow:
        await add_remote_media(
            uow,
            container.settings,
            account_id=remote.id,
            remote_url="https://remote.example/media/a.png",
            media_type="image",
            description="a remote picture",
            blurhash="U9TI:j|cfQ|c|co1fQo1fQfQfQfQ|co1fQo1",
            focus=(0.5, -0.25),
            status_id=remote_media.id,
        )
    # A card as a fetch leaves it (fetching is tested in tests/domain/cards).
    async with container.db.uow() as uow:
        card = PreviewCard(
            link_digest="0" * 64,
            link="https://cards.example/page",
            url="https://cards.example/page",
            title="A page",
            description="About it",
            provider_name="Cards",
            image_key="cards/1/image.png",
            blurhash="U9TI:j|cfQ|c|co1fQo1fQfQfQfQ|co1fQo1",
            width=640,
            height=320,
            fetched_at=utcnow(),
        )
        uow.session.add(card)
        await uow.session.flush()
        uow.session.add(StatusPreviewCard(status_id=remote_plain.id, card_id=card.id))
    boost_remote = await client.post(f"/api/v1/statuses/{by_other.id}/reblog", headers=booster.headers)
    assert boost_remote.status_code == 200
    boost_of_remote_by_remote = await client.post(
        f"/api/v1/statuses/{remote_plain.id}/reblog", headers=booster.headers
    )
    assert boost_of_remote_by_remote.status_code == 200
    await drain_jobs()

    # The viewer's flags and votes, an edit, and media left processing as a remote fetch leaves it.
    vote = await client.post(
        f"/api/v1/polls/{voted_poll['poll']['id']}/votes", data={"choices[]": "0"}, headers=viewer.headers
    )
    assert vote.status_code == 200, vote.text
    for action, target in (
        ("favourite", tagged["id"]),
        ("bookmark", str(remote_plain.id)),
        ("favourite", unfollowed["id"]),
        ("reblog", with_media["id"]),
        ("pin", own["id"]),
        ("mute", reply["id"]),
    ):
        response = await client.post(f"/api/v1/statuses/{target}/{action}", headers=viewer.headers)
        assert response.status_code == 200, (action, response.text)
    response = await client.put(
        f"/api/v1/statuses/{edited['id']}", data={"status": "after the edit #Edits"}, headers=author.headers
    )
    assert response.status_code == 200, response.text
    async with container.db.uow() as uow:
        await uow.session.execute(
            update(MediaAttachment)
            .where(MediaAttachment.id == int(processing_media))
            .values(state="processing")
        )
    # Nor was it posted through this process (a local status cannot be posted with media still
    # processing; a status another process posted is not in this one's documents).
    app.state.status_documents.statuses.pop(int(processing["id"]))
    await drain_jobs()

    # Every entry of the feed, through the ORM path (a page the feed cannot fill is declined).
    reference = await client.get(HOME, params={"limit": "40"}, headers=viewer.headers)
    assert reference.status_code == 200 and served[-1] is False
    want = reference.json()
    count = len(want)
    ids = {s["id"] for s in want}
    for expected in (
        tagged,
        with_media,
        voted_poll,
        open_poll,
        own,
        quote,
        reply,
        sensitive,
        edited,
        processing,
    ):
        assert expected["id"] in ids
    assert {str(remote_plain.id), str(remote_media.id), str(with_emojis.id)} <= ids
    shown = {s["id"]: s for s in want}[str(with_emojis.id)]
    assert [(e["shortcode"], e["url"], e["static_url"]) for e in shown["emojis"]] == [
        ("blobcat", blobcat.image_url, blobcat.image_url),
        ("party_parrot", "https://remote.example/emojis/pp.gif", "https://remote.example/emojis/pp.gif"),
    ]
    assert {e["visible_in_picker"] for e in shown["emojis"]} == {False}
    assert shown["account"]["emojis"] == [
        {
            "shortcode": "blobcat",
            "url": blobcat.image_url,
            "static_url": blobcat.image_url,
            "visible_in_picker": False,
            "category": None,
        }
    ]
    by_status = {s["id"]: s for s in want}
    assert by_status[str(remote_plain.id)]["card"]["title"] == "A page"
    assert "pinned" not in by_status[own_direct["id"]] and by_status[own_private["id"]]["pinned"] is False
    boosted = {s["reblog"]["id"] for s in want if s["reblog"]}
    assert {unfollowed["id"], str(by_other.id)} <= boosted  # boosts of a local and of a remote status

    # The same statuses, straight from the reference renderer.
    async with container.db.uow(write=False) as uow:
        by_id = {
            s.id: s
            for s in (
                await uow.session.execute(select(Status).where(Status.id.in_([int(i) for i in ids])))
            ).scalars()
        }
        rendered = await render_statuses(
            uow.session, container, [by_id[int(s["id"])] for s in want], viewer.account_id
        )
    direct = orjson.loads(orjson.dumps(rendered))
    assert differences(want, direct) == []

    # The fast path, twice: rendering what it misses, then from its cached documents.
    # (The processing status and the quote are rendered whole by the ORM inside the page.)
    first = await client.get(HOME, params={"limit": str(count)}, headers=viewer.headers)
    assert first.status_code == 200 and served[-1] is True
    assert differences(first.json(), want) == []
    filled: list[int] = []
    fill = StatusDocuments.fill

    async def spy(
        self: StatusDocuments, session: Any, container: Container, statuses: Any, *rest: Any
    ) -> None:
        filled.extend(statuses)
        await fill(self, session, container, statuses, *rest)

    monkeypatch.setattr(StatusDocuments, "fill", spy)
    second = await client.get(HOME, params={"limit": str(count)}, headers=viewer.headers)
    # Everything came from the documents but the status whose media is processing (never kept).
    assert filled == [int(processing["id"])]
    monkeypatch.setattr(StatusDocuments, "fill", fill)
    assert second.status_code == 200 and served[-1] is True
    assert differences(second.json(), want) == []
    assert canonical(first.json()) == canonical(want) == canonical(second.json())
    assert first.headers.get("link") == reference.headers.get("link").replace("limit=40", f"limit={count}")

    # A viewer with a filter is declined by the fast path; the ORM page it gets is the same
    # page with the match marked, and nothing else changed.
    created = await client.post(
        "/api/v2/filters",
        json={
            "title": "edits",
            "context": ["home"],
            "filter_action": "warn",
            "keywords_attributes": [{"keyword": "after the edit"}],
        },
        headers=viewer.headers,
    )
    assert created.status_code == 200, created.text
    filtered = await client.get(HOME, params={"limit": str(count)}, headers=viewer.headers)
    assert filtered.status_code == 200 and served[-1] is False
    diff = differences(filtered.json(), want)
    assert [(status_id, key) for status_id, key, _, _ in diff] == [(edited["id"], "filtered")]
    assert diff[0][2][0]["filter"]["title"] == "edits"


async def _account(container: Container, account_id: int) -> Any:
    from kinfolk.domain.accounts.models import Account

    async with container.db.uow(write=False) as uow:
        return await uow.session.get(Account, account_id)


async def _status(container: Container, status_id: int) -> Status:
    async with container.db.uow(write=False) as uow:
        found = await uow.session.get(Status, status_id)
    assert found is not None
    return found


# -- tokens: the fast path serves exactly the tokens the OAuth service accepts ---------------


async def test_every_token_state_gets_the_same_answer_from_the_fast_path_and_the_oauth_service(
    client: httpx.AsyncClient,
    container: Container,
    make_user: Any,
    drain_jobs: Any,
    served: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kinfolk.domain.accounts.models import Account, User
    from kinfolk.domain.oauth.models import AccessToken
    from kinfolk.domain.oauth.service import create_application, issue_token
    from kinfolk.kernel.secrets import digest

    cases: dict[str, dict[str, str]] = {}
    for name, scopes in (
        ("usable", "read write"),
        ("read_statuses", "read:statuses"),
        ("read_accounts", "read:accounts"),
        ("write_only", "write"),
        ("revoked", "read"),
        ("expired", "read"),
        ("expires_later", "read"),
        ("disabled", "read"),
        ("unapproved", "read"),
        ("suspended", "read"),
    ):
        user = await make_user(name, approved=name != "unapproved")
        if name != "unapproved":
            await post(client, user, f"a post by {name}")
        async with container.db.uow() as uow:
            found = await uow.session.get(User, user.user_id)
            case_app = await create_application(uow.session, name=f"case-{name}", scopes="read write")
            issued = await issue_token(uow.session, application=case_app, user=found, scopes=scopes.split())
        cases[name] = {"Authorization": f"Bearer {issued.access_token}"}
        now = utcnow()
        async with container.db.uow() as uow:
            token = update(AccessToken).where(AccessToken.token_digest == digest(issued.access_token))
            if name == "revoked":
                await uow.session.execute(token.values(revoked_at=now))
            elif name == "expired":
                await uow.session.execute(token.values(expires_at=now - timedelta(seconds=1)))
            elif name == "expires_later":
                await uow.session.execute(token.values(expires_at=now + timedelta(hours=1)))
            elif name == "disabled":
                await uow.session.execute(update(User).where(User.id == user.user_id).values(disabled=True))
            elif name == "suspended":
                await uow.session.execute(
                    update(Account).where(Account.id == user.account_id).values(suspended_at=now)
                )
    async with container.db.uow() as uow:
        app = await create_application(uow.session, name="app-only", scopes="read")
        issued = await issue_token(uow.session, application=app, user=None, scopes=["read"])
    cases["app_only"] = {"Authorization": f"Bearer {issued.access_token}"}
    cases["unknown"] = {"Authorization": "Bearer not-a-token"}
    cases["none"] = {}
    await drain_jobs()

    async def ask(headers: dict[str, str]) -> tuple[int, Any, bool]:
        response = await client.get(HOME, params={"limit": "1"}, headers=headers)
        return response.status_code, response.json(), served[-1]

    fast = {name: await ask(headers) for name, headers in cases.items()}

    async def decline(*args: Any, **kwargs: Any) -> None:
        served.append(False)
        return None

    monkeypatch.setattr(home_page, "serve", decline)
    orm = {name: await ask(headers) for name, headers in cases.items()}

    for name in cases:
        assert fast[name][:2] == orm[name][:2], name
    # The fast path served the usable tokens only; the others got the OAuth service's answers.
    assert {name for name, answer in fast.items() if answer[2]} == {
        "usable",
        "read_statuses",
        "expires_later",
    }
    statuses = {name: answer[0] for name, answer in orm.items()}
    assert statuses == {
        "usable": 200,
        "read_statuses": 200,
        "read_accounts": 403,
        "write_only": 403,
        "revoked": 401,
        "expired": 401,
        "expires_later": 200,
        "disabled": 401,
        "unapproved": 401,
        "suspended": 401,
        "app_only": 422,
        "unknown": 401,
        "none": 401,
    }
    assert orm["revoked"][1] == {"error": "The access token is invalid"}
    assert orm["write_only"][1] == {"error": "This action is outside the authorized scopes"}
