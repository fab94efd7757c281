"""apply_filters: hide removes, warn/blur annotate, whole-word vs partial, expiry, boosts, contexts."""

from __future__ import annotations

from datetime import timedelta

from tests.remote import make_remote_account, make_remote_status

from kinfolk.api.entities.filter import render_filter_result
from kinfolk.container import Container
from kinfolk.domain.filters.apply import apply_filters
from kinfolk.domain.filters.matching import compile_keywords, first_match, keyword_pattern
from kinfolk.domain.filters.models import Filter, FilterKeyword, FilterStatus
from kinfolk.domain.statuses.models import Status
from kinfolk.kernel.clock import utcnow


async def _filter(
    container: Container,
    account_id: int,
    keywords: list[tuple[str, bool]],
    *,
    action: str = "warn",
    context: list[str] | None = None,
    expires_in: timedelta | None = None,
    status_ids: list[int] | None = None,
) -> Filter:
    async with container.db.uow() as uow:
        row = Filter(
            account_id=account_id,
            title="t",
            context=context or ["home"],
            action=action,
            expires_at=utcnow() + expires_in if expires_in is not None else None,
        )
        uow.session.add(row)
        await uow.session.flush()
        for word, whole in keywords:
            uow.session.add(FilterKeyword(filter_id=row.id, keyword=word, whole_word=whole))
        for status_id in status_ids or []:
            uow.session.add(FilterStatus(filter_id=row.id, status_id=status_id))
    return row


async def _apply(container: Container, account_id: int, statuses: list[Status], context: str = "home"):  # type: ignore[no-untyped-def]
    async with container.db.uow(write=False) as uow:
        return await apply_filters(uow.session, account_id, statuses, context)


def test_whole_word_patterns_follow_mastodon() -> None:
    assert keyword_pattern("cat", True) == r"\bcat\b"
    assert keyword_pattern("cat", False) == "cat"
    # No boundary on a side that is not a word character, so these still match.
    hashtag = compile_keywords([FilterKeyword(keyword="#cat", whole_word=True)])
    assert first_match(hashtag, "love my#cat") == "#cat"
    assert first_match(hashtag, "#cats") is None
    cpp = compile_keywords([FilterKeyword(keyword="c++", whole_word=True)])
    assert first_match(cpp, "I write C++!") == "C++"
    assert first_match(cpp, "abc++") is None
    whole = compile_keywords([FilterKeyword(keyword="Cat", whole_word=True)])
    partial = compile_keywords([FilterKeyword(keyword="cat", whole_word=False)])
    assert first_match(whole, "a CAT sat") == "CAT"
    assert first_match(whole, "concatenate") is None
    assert first_match(partial, "conCATenate") == "CAT"


async def test_hide_removes_and_warn_annotates(container, make_user, post) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    spoiled = await post(bob, "nothing here", spoiler_text="Spoilers ahead")
    hidden = await post(bob, "I love broccoli")
    partial = await post(bob, "concatenate things")
    plain = await post(bob, "just a post")
    await _filter(container, alice.account_id, [("spoilers", True)], action="warn")
    await _filter(container, alice.account_id, [("broccoli", True)], action="hide")
    await _filter(container, alice.account_id, [("cat", True)], action="blur")

    kept, results = await _apply(container, alice.account_id, [spoiled, hidden, partial, plain])
    assert [s.id for s in kept] == [spoiled.id, partial.id, plain.id]
    assert list(results) == [spoiled.id]
    (result,) = results[spoiled.id]
    assert result.keyword_matches == ["Spoilers"]
    assert result.status_matches is None
    assert result.filter.action == "warn"
    rendered = render_filter_result(result.filter, result.keyword_matches, result.status_matches)
    assert rendered["filter"]["filter_action"] == "warn" and "keywords" not in rendered["filter"]

    await _filter(container, alice.account_id, [("cat", False)], action="blur")
    _, results = await _apply(container, alice.account_id, [partial])
    assert results[partial.id][0].keyword_matches == ["cat"]
    assert results[partial.id][0].filter.action == "blur"


async def test_expired_filters_and_other_contexts_do_nothing(container, make_user, post) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    status = await post(bob, "broccoli again")
    await _filter(
        container, alice.account_id, [("broccoli", True)], action="hide", expires_in=timedelta(seconds=-1)
    )
    await _filter(container, alice.account_id, [("broccoli", True)], action="hide", context=["public"])
    kept, results = await _apply(container, alice.account_id, [status], "home")
    assert kept == [status] and results == {}
    kept, _ = await _apply(container, alice.account_id, [status], "public")
    assert kept == []
    live = await _filter(container, alice.account_id, [("again", True)], expires_in=timedelta(hours=1))
    _, results = await _apply(container, alice.account_id, [status], "home")
    assert results[status.id][0].filter.id == live.id
    # Someone else's filters never apply.
    kept, results = await _apply(container, bob.account_id, [status], "public")
    assert kept == [status] and results == {}


async def test_boosts_match_the_boosted_status_and_status_filters(container, make_user, post, boost) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    carol = await make_user("carol")
    original = await post(bob, "a post about broccoli")
    reblog = await boost(carol, original.id)
    other = await post(bob, "unrelated")
    await _filter(container, alice.account_id, [("broccoli", True)])
    await _filter(container, alice.account_id, [], status_ids=[other.id], action="warn")
    kept, results = await _apply(container, alice.account_id, [reblog, other])
    assert [s.id for s in kept] == [reblog.id, other.id]
    assert results[reblog.id] == results[original.id]
    assert results[reblog.id][0].keyword_matches == ["broccoli"]
    assert results[other.id][0].status_matches == [other.id]
    assert results[other.id][0].keyword_matches is None

    await _filter(container, alice.account_id, [], status_ids=[original.id], action="hide")
    kept, _ = await _apply(container, alice.account_id, [reblog, other])
    assert [s.id for s in kept] == [other.id]


async def test_remote_html_poll_options_and_media_descriptions(container, make_user, post) -> None:  # type: ignore[no-untyped-def]
    from kinfolk.domain.media.models import MediaAttachment
    from kinfolk.domain.polls.service import PollParams

    alice = await make_user("alice")
    bob = await make_user("bob")
    far = await make_remote_account(container, "carol", "remote.example")
    remote = await make_remote_status(container, far, content="<p>Tasty<br/>br&amp;occoli</p><p>salad</p>")
    polled = await post(bob, "vote", poll=PollParams(options=["kale", "turnip"], expires_in=3600))
    pictured = await post(bob, "look")
    async with container.db.uow() as uow:
        uow.session.add(
            MediaAttachment(account_id=bob.account_id, status_id=pictured.id, description="a radish")
        )
    await _filter(container, alice.account_id, [("br&occoli", False), ("turnip", True), ("radish", True)])
    _, results = await _apply(container, alice.account_id, [remote, polled, pictured])
    assert results[remote.id][0].keyword_matches == ["br&occoli"]
    assert results[polled.id][0].keyword_matches == ["turnip"]
    assert results[pictured.id][0].keyword_matches == ["radish"]


async def test_query_count_does_not_grow_with_the_page(container, make_user, post, count_selects) -> None:  # type: ignore[no-untyped-def]
    alice = await make_user("alice")
    bob = await make_user("bob")
    statuses = [await post(bob, f"post {i} broccoli") for i in range(20)]
    await _filter(container, alice.account_id, [("broccoli", True)], status_ids=[statuses[0].id])
    counts = []
    for page in (statuses[:1], statuses):
        async with count_selects() as seen:
            _, results = await _apply(container, alice.account_id, page)
        assert len(results) == len(page)
        counts.append(len(seen))
    assert counts[0] == counts[1]
    async with count_selects() as seen:
        await _apply(container, bob.account_id, statuses)
    assert len(seen) == 1  # no filters: one query
