"""Who follows, blocks, mutes, notes and endorses whom: Mastodon's rules, for local accounts.

Writes keep the account counters right in the same transaction and enqueue their local side
effects (home feed merge and unmerge) as jobs; nothing is sent to other servers yet, the
federation work will hang that on these same call sites.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.db.database import UnitOfWork
from kinfolk.domain import outbox
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.instance.languages import known_language
from kinfolk.domain.notifications.service import notify
from kinfolk.domain.relationships import repo
from kinfolk.domain.relationships.models import Follow, FollowRequest
from kinfolk.domain.relationships.repo import FollowLink
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.errors import BadRequest, Forbidden, NotFound, Unprocessable
from kinfolk.kernel.paging import Page, Paged

# Statuses of a newly followed account copied into the follower's home feed.
FEED_MERGE_LIMIT = 400
NOTE_MAX = 2000
# A mute longer than this is refused rather than overflowing a timestamp (about 68 years).
MUTE_DURATION_MAX = 2**31 - 1
# Relationships and familiar followers are computed for at most this many ids per request.
MAX_IDS = 100
# Mastodon's follow limit: past 7,500 follows, at most 1.1 times one's followers.
FOLLOW_LIMIT = 7500
FOLLOW_LIMIT_RATIO = 1.1
EXPIRE_MUTES_BATCH = 1000
# Deeper search pages are refused quietly (empty), as search engines cap result windows.
SEARCH_OFFSET_MAX = 10_000

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?"
_DOMAIN_RE = re.compile(rf"^(?=.{{1,253}}$)(?:{_LABEL}\.)*{_LABEL}$")


@dataclass(frozen=True)
class Relationship:
    account_id: int
    following: bool = False
    showing_reblogs: bool = False
    notifying: bool = False
    languages: list[str] | None = None
    followed_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    muting_notifications: bool = False
    muting_expires_at: datetime | None = None
    requested: bool = False
    requested_by: bool = False
    domain_blocking: bool = False
    endorsed: bool = False
    note: str = ""


@dataclass(frozen=True)
class FollowOptions:
    """What a follow asks for; None leaves an existing follow's setting as it is."""

    reblogs: bool | None = None
    notify: bool | None = None
    languages: list[str] | None = None
    # `languages` was sent at all: an empty list means "every language" again.
    languages_given: bool = False


@dataclass(frozen=True)
class FamiliarFollowers:
    account_id: int
    accounts: list[Account] = field(default_factory=list)


# -- reading relationships ------------------------------------------------------------------


def _dedupe(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(ids))


async def relationships(
    session: AsyncSession, viewer_id: int, ids: Sequence[int], *, with_suspended: bool = False
) -> list[Relationship]:
    """One relationship per known id, in the order asked, in a fixed number of queries."""
    wanted = _dedupe(ids)[:MAX_IDS]
    accounts = await repo.get_accounts(session, wanted)
    targets = [
        accounts[i] for i in wanted if i in accounts and (with_suspended or accounts[i].suspended_at is None)
    ]
    return await _relationships_for(session, viewer_id, targets)


async def relationship(session: AsyncSession, viewer_id: int, target: Account) -> Relationship:
    return (await _relationships_for(session, viewer_id, [target]))[0]


async def _relationships_for(
    session: AsyncSession, viewer_id: int, targets: list[Account]
) -> list[Relationship]:
    if not targets:
        return []
    ids = [a.id for a in targets]
    domains = sorted({a.domain for a in targets if a.domain})
    facts = await repo.relationship_facts(session, viewer_id, ids, domains, utcnow())
    following = {f.target_account_id: f for f in facts.follows if f.account_id == viewer_id}
    followed_by = {f.account_id for f in facts.follows if f.target_account_id == viewer_id}
    requested = {r.target_account_id: r for r in facts.requests if r.account_id == viewer_id}
    requested_by = {r.account_id for r in facts.requests if r.target_account_id == viewer_id}
    blocking = {t for a, t in facts.blocks if a == viewer_id}
    blocked_by = {a for a, t in facts.blocks if t == viewer_id}
    out = []
    for account in targets:
        link = following.get(account.id) or requested.get(account.id)
        mute = facts.mutes.get(account.id)
        out.append(
            Relationship(
                account_id=account.id,
                following=account.id in following,
                showing_reblogs=bool(link and link.show_reblogs),
                notifying=bool(link and link.notify),
                languages=link.languages if link else None,
                followed_by=account.id in followed_by,
                blocking=account.id in blocking,
                blocked_by=account.id in blocked_by,
                muting=mute is not None,
                muting_notifications=bool(mute and mute[0]),
                muting_expires_at=mute[1] if mute else None,
                requested=account.id in requested,
                requested_by=account.id in requested_by,
                domain_blocking=account.domain is not None and account.domain in facts.blocked_domains,
                endorsed=account.id in facts.pins,
                note=facts.notes.get(account.id, ""),
            )
        )
    return out


async def get_target(session: AsyncSession, account_id: int) -> Account:
    account = await repo.get_account(session, account_id)
    if account is None:
        raise NotFound()
    return account


# -- follows --------------------------------------------------------------------------------


def validate_languages(languages: Sequence[Any]) -> list[str] | None:
    """Known ISO 639 codes, de-duplicated; unknown ones are dropped, as Mastodon drops an unknown
    language; an empty list means every language (None)."""
    codes = [code for code in (known_language(v) for v in languages) if code is not None]
    return list(dict.fromkeys(codes)) or None


async def follow(uow: UnitOfWork, viewer: Account, target_id: int, options: FollowOptions) -> Relationship:
    """Follow, ask to follow (locked or remote targets), or change an existing follow's options."""
    session = uow.session
    target = await get_target(session, target_id)
    if target.id == viewer.id or target.suspended_at is not None:
        raise NotFound()
    if await repo.blocked_either_way(session, viewer.id, target.id) or await repo.domain_blocked(
        session, viewer.id, target.domain
    ):
        raise Forbidden()

    for table in (Follow, FollowRequest):
        existing = await repo.get_link(session, table, viewer.id, target.id)
        if existing is not None:
            await repo.update_link(session, table, existing.id, _changed_options(existing, options))
            return await relationship(session, viewer.id, target)

    await _check_follow_limit(session, viewer)
    values = repo.LinkOptions(
        show_reblogs=True if options.reblogs is None else options.reblogs,
        notify=bool(options.notify),
        languages=options.languages,
    )
    if target.locked or not target.is_local or viewer.silenced_at is not None:
        request_id = await repo.insert_link(session, FollowRequest, viewer.id, target.id, values)
        if request_id is not None:
            await notify_follow(uow, kind="follow_request", recipient_id=target.id, from_account_id=viewer.id)
            if viewer.is_local and not target.is_local:
                # The Follow's id is made and stored by the job, before anything is sent.
                follow = {"account_id": viewer.id, "target_id": target.id, "request_id": request_id}
                await outbox.publish(uow, "Follow", follow)
    else:
        await _start_follow(uow, viewer.id, target.id, values)
    return await relationship(session, viewer.id, target)


async def remote_follow(uow: UnitOfWork, follower: Account, target: Account, uri: str) -> int | None:
    """A remote account's `Follow` (id `uri`) of the local `target`, by the rules of `follow`.

    A request when the target is locked or the follower silenced (the target is notified), else a
    follow (notified, merged into nothing: the follower's feed is elsewhere). A follow or request
    that exists already takes the new id, since the answer must name the Follow just sent. The
    follow limit is not ours to hold a remote account to. Returns the follow's id when the
    follower now follows (the caller answers with an Accept), None for a pending request; raises
    Forbidden when either blocks the other or the target blocks the follower's domain."""
    session = uow.session
    if follower.is_local or not target.is_local or target.suspended_at is not None:
        raise NotFound()
    if await repo.blocked_either_way(session, follower.id, target.id) or await repo.domain_blocked(
        session, target.id, follower.domain
    ):
        raise Forbidden()
    for table in (Follow, FollowRequest):
        existing = await repo.get_link(session, table, follower.id, target.id)
        if existing is not None:
            await repo.update_link(session, table, existing.id, {"uri": uri})
            return existing.id if table is Follow else None
    values = repo.LinkOptions()
    if target.locked or follower.silenced_at is not None:
        if (
            await repo.insert_link(session, FollowRequest, follower.id, target.id, values, uri=uri)
            is not None
        ):
            await notify_follow(
                uow, kind="follow_request", recipient_id=target.id, from_account_id=follower.id
            )
        return None
    follow_id = await repo.insert_link(session, Follow, follower.id, target.id, values, uri=uri)
    if follow_id is not None:
        await repo.bump_follow_counts(session, follower.id, target.id, +1)
        await notify_follow(uow, kind="follow", recipient_id=target.id, from_account_id=follower.id)
    return follow_id


def _changed_options(link: FollowLink, options: FollowOptions) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if options.reblogs is not None and options.reblogs != link.show_reblogs:
        values["show_reblogs"] = options.reblogs
    if options.notify is not None and options.notify != link.notify:
        values["notify"] = options.notify
    if options.languages_given and options.languages != link.languages:
        values["languages"] = options.languages
    return values


async def _check_follow_limit(session: AsyncSession, viewer: Account) -> None:
    followers, following = await repo.get_stats(session, viewer.id)
    if following >= max(FOLLOW_LIMIT, int(followers * FOLLOW_LIMIT_RATIO)):
        raise Unprocessable("Validation failed: You can't follow any more people at this time")


async def _start_follow(
    uow: UnitOfWork, follower_id: int, followee_id: int, options: repo.LinkOptions
) -> None:
    if await repo.insert_link(uow.session, Follow, follower_id, followee_id, options) is None:
        return
    await repo.bump_follow_counts(uow.session, follower_id, followee_id, +1)
    await notify_follow(uow, kind="follow", recipient_id=followee_id, from_account_id=follower_id)
    await uow.enqueue("feeds.merge", {"account_id": follower_id, "target_account_id": followee_id})


async def _end_follow(uow: UnitOfWork, follower_id: int, followee_id: int) -> FollowLink | None:
    """Remove a follow with everything that hangs on it; the removed row, None if there was none."""
    removed = await repo.delete_link(uow.session, Follow, follower_id, followee_id)
    if removed is None:
        return None
    await repo.bump_follow_counts(uow.session, follower_id, followee_id, -1)
    # Endorsing needs following, so the endorsement goes with the follow (list memberships
    # go by the foreign key).
    await repo.delete_pin(uow.session, follower_id, followee_id)
    await uow.enqueue("feeds.unmerge", {"account_id": follower_id, "target_account_id": followee_id})
    return removed


async def sever_follow(uow: UnitOfWork, follower_id: int, followee_id: int) -> bool:
    """End a follow without telling anyone (one side's account is being deleted; its actor
    `Delete` tells other servers); counters, endorsements and feeds follow. False if none."""
    return await _end_follow(uow, follower_id, followee_id) is not None


async def _tell_follow_ended(
    uow: UnitOfWork, kind: str, local: Account, remote: Account, link: FollowLink | None
) -> None:
    """`Undo` (our follow of them) or `Reject` (their follow of us) for a follow that ended."""
    if link is None or not local.is_local or remote.is_local:
        return
    payload = {"account_id": local.id, "target_id": remote.id, "follow_id": link.id, "follow_uri": link.uri}
    if kind == "Undo":
        payload["object_type"] = "Follow"
    await outbox.publish(uow, kind, payload)


async def unfollow(uow: UnitOfWork, viewer: Account, target_id: int) -> Relationship:
    target = await get_target(uow.session, target_id)
    link = await _end_follow(uow, viewer.id, target.id)
    if link is None:
        link = await repo.delete_link(uow.session, FollowRequest, viewer.id, target.id)
    await _tell_follow_ended(uow, "Undo", viewer, target, link)
    return await relationship(uow.session, viewer.id, target)


async def remove_from_followers(uow: UnitOfWork, viewer: Account, target_id: int) -> Relationship:
    target = await get_target(uow.session, target_id)
    await _tell_follow_ended(uow, "Reject", viewer, target, await _end_follow(uow, target.id, viewer.id))
    return await relationship(uow.session, viewer.id, target)


async def authorize_follow_request(uow: UnitOfWork, viewer: Account, requester_id: int) -> Relationship:
    requester = await get_target(uow.session, requester_id)
    request = await repo.delete_link(uow.session, FollowRequest, requester.id, viewer.id)
    if request is None:
        raise NotFound()
    await _start_follow_accepted(uow, requester.id, viewer.id, request.options, uri=request.uri)
    await _tell_follow_ended(uow, "Accept", viewer, requester, request)
    return await relationship(uow.session, viewer.id, requester)


async def _start_follow_accepted(
    uow: UnitOfWork,
    follower_id: int,
    followee_id: int,
    options: repo.LinkOptions,
    *,
    uri: str | None = None,
) -> None:
    """An accepted request becomes a follow (keeping the `Follow`'s id); the followee was told of
    the request already."""
    if await repo.insert_link(uow.session, Follow, follower_id, followee_id, options, uri=uri) is None:
        return
    await repo.bump_follow_counts(uow.session, follower_id, followee_id, +1)
    await uow.enqueue("feeds.merge", {"account_id": follower_id, "target_account_id": followee_id})


async def reject_follow_request(uow: UnitOfWork, viewer: Account, requester_id: int) -> Relationship:
    requester = await get_target(uow.session, requester_id)
    request = await repo.delete_link(uow.session, FollowRequest, requester.id, viewer.id)
    if request is None:
        raise NotFound()
    await _tell_follow_ended(uow, "Reject", viewer, requester, request)
    return await relationship(uow.session, viewer.id, requester)


# -- blocks and mutes -----------------------------------------------------------------------


async def block(uow: UnitOfWork, viewer: Account, target_id: int) -> Relationship:
    """Block: follows and requests end both ways, and each side's feed loses the other."""
    session = uow.session
    target = await get_target(session, target_id)
    if target.id == viewer.id:
        return await relationship(session, viewer.id, target)
    await _end_follow(uow, viewer.id, target.id)
    await _end_follow(uow, target.id, viewer.id)
    await repo.delete_link(session, FollowRequest, viewer.id, target.id)
    await repo.delete_link(session, FollowRequest, target.id, viewer.id)
    block_id = await repo.insert_block(session, viewer.id, target.id)
    if block_id is not None:
        for account_id, other_id in ((viewer.id, target.id), (target.id, viewer.id)):
            await uow.enqueue(
                "feeds.unmerge", {"account_id": account_id, "target_account_id": other_id, "purge": True}
            )
        if viewer.is_local and not target.is_local:
            # The remote side ends the follows both ways itself when it receives the Block.
            blocked = {"account_id": viewer.id, "target_id": target.id, "block_id": block_id}
            await outbox.publish(uow, "Block", blocked)
    return await relationship(session, viewer.id, target)


async def unblock(uow: UnitOfWork, viewer: Account, target_id: int) -> Relationship:
    target = await get_target(uow.session, target_id)
    block_id = await repo.delete_block(uow.session, viewer.id, target.id)
    if block_id is not None and viewer.is_local and not target.is_local:
        undo = {"object_type": "Block", "account_id": viewer.id, "target_id": target.id}
        await outbox.publish(uow, "Undo", {**undo, "block_id": block_id})
    return await relationship(uow.session, viewer.id, target)


async def mute(
    uow: UnitOfWork, viewer: Account, target_id: int, *, notifications: bool = True, duration: int = 0
) -> Relationship:
    """Mute, for `duration` seconds (0: until unmuted); muting again replaces both settings."""
    session = uow.session
    target = await get_target(session, target_id)
    if duration < 0 or duration > MUTE_DURATION_MAX:
        raise Unprocessable(
            "Validation failed: Duration must be a number of seconds, 0 for no expiry",
            details={"duration": [{"error": "ERR_INVALID", "description": "is out of range"}]},
        )
    if target.id == viewer.id:
        return await relationship(session, viewer.id, target)
    expires_at = utcnow() + timedelta(seconds=duration) if duration else None
    await repo.upsert_mute(
        session, viewer.id, target.id, hide_notifications=notifications, expires_at=expires_at
    )
    await uow.enqueue(
        "feeds.unmerge", {"account_id": viewer.id, "target_account_id": target.id, "purge": True}
    )
    return await relationship(session, viewer.id, target)


async def unmute(uow: UnitOfWork, viewer: Account, target_id: int) -> Relationship:
    """Unmute; a followed account's statuses come back into the home feed."""
    target = await get_target(uow.session, target_id)
    if await repo.delete_mute(uow.session, viewer.id, target.id, utcnow()):
        await _remerge_if_following(uow, viewer.id, target.id)
    return await relationship(uow.session, viewer.id, target)


async def _remerge_if_following(uow: UnitOfWork, account_id: int, target_id: int) -> None:
    if await repo.get_link(uow.session, Follow, account_id, target_id) is not None:
        await uow.enqueue("feeds.merge", {"account_id": account_id, "target_account_id": target_id})


async def expire_mutes(
    uow: UnitOfWork, *, now: datetime | None = None, batch: int = EXPIRE_MUTES_BATCH
) -> int:
    """Delete mutes past their expiry (reads already ignore them); returns how many."""
    expired = await repo.delete_expired_mutes(uow.session, now or utcnow(), batch)
    for account_id, target_id in expired:
        await _remerge_if_following(uow, account_id, target_id)
    return len(expired)


# -- notes and endorsements -----------------------------------------------------------------


async def set_note(uow: UnitOfWork, viewer: Account, target_id: int, comment: str | None) -> Relationship:
    target = await get_target(uow.session, target_id)
    text = (comment or "").strip()
    if len(text) > NOTE_MAX:
        raise Unprocessable(
            f"Validation failed: Comment is too long (maximum is {NOTE_MAX} characters)",
            details={"comment": [{"error": "ERR_TOO_LONG", "description": "is too long"}]},
        )
    if text:
        await repo.set_note(uow.session, viewer.id, target.id, text)
    else:
        await repo.delete_note(uow.session, viewer.id, target.id)
    return await relationship(uow.session, viewer.id, target)


async def endorse(uow: UnitOfWork, viewer: Account, target_id: int) -> Relationship:
    target = await get_target(uow.session, target_id)
    if await repo.get_link(uow.session, Follow, viewer.id, target.id) is None:
        raise Unprocessable("Validation failed: You must be already following the person you want to endorse")
    await repo.insert_pin(uow.session, viewer.id, target.id)
    return await relationship(uow.session, viewer.id, target)


async def unendorse(uow: UnitOfWork, viewer: Account, target_id: int) -> Relationship:
    target = await get_target(uow.session, target_id)
    await repo.delete_pin(uow.session, viewer.id, target.id)
    return await relationship(uow.session, viewer.id, target)


# -- domain blocks --------------------------------------------------------------------------


def normalize_domain(value: Any) -> str:
    """A host name as stored: lower-case punycode without a trailing dot; 400 if missing."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise BadRequest("param is missing or the value is empty: domain")
    text = text.rstrip("/").rstrip(".").lower()
    try:
        ascii_domain = text.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    if not _DOMAIN_RE.match(ascii_domain):
        raise Unprocessable(
            "Validation failed: Domain is not a valid domain name",
            details={"domain": [{"error": "ERR_INVALID", "description": "is not a valid domain name"}]},
        )
    return ascii_domain


async def block_domain(uow: UnitOfWork, viewer: Account, domain: Any) -> None:
    """Block a domain; follows both ways with its accounts end in a job (there may be many)."""
    name = normalize_domain(domain)
    if await repo.insert_domain_block(uow.session, viewer.id, name):
        await uow.enqueue("relationships.domain_blocked", {"account_id": viewer.id, "domain": name})


async def unblock_domain(uow: UnitOfWork, viewer: Account, domain: Any) -> None:
    await repo.delete_domain_block(uow.session, viewer.id, normalize_domain(domain))


async def apply_domain_block(uow: UnitOfWork, account_id: int, domain: str) -> int:
    """End follows and requests both ways between an account and a domain it blocked."""
    session = uow.session
    if not await repo.domain_blocked(session, account_id, domain):
        return 0
    ended = 0
    for link in await repo.links_with_domain(session, Follow, account_id, domain):
        ended += await _end_follow(uow, link.account_id, link.target_account_id) is not None
    for link in await repo.links_with_domain(session, FollowRequest, account_id, domain):
        await repo.delete_link(session, FollowRequest, link.account_id, link.target_account_id)
    return ended


# -- listings -------------------------------------------------------------------------------


async def _hides_from(session: AsyncSession, account: Account, viewer_id: int | None) -> bool:
    """Whether `account`'s lists are withheld from the viewer (Mastodon's rules)."""
    if account.suspended_at is not None:
        return True
    if viewer_id == account.id:
        return False
    if account.hide_collections:
        return True
    return viewer_id is not None and await repo.blocks(session, account.id, viewer_id)


def _exclusions_for(viewer_id: int | None, account_id: int) -> int | None:
    return viewer_id if viewer_id is not None and viewer_id != account_id else None


async def list_followers(
    session: AsyncSession, viewer_id: int | None, account_id: int, page: Page
) -> Paged[Account]:
    account = await get_target(session, account_id)
    if await _hides_from(session, account, viewer_id):
        return Paged([], [])
    rows = await repo.list_followers(
        session, account.id, page, exclude_for=_exclusions_for(viewer_id, account.id), now=utcnow()
    )
    return Paged.of(rows)


async def list_following(
    session: AsyncSession, viewer_id: int | None, account_id: int, page: Page
) -> Paged[Account]:
    account = await get_target(session, account_id)
    if await _hides_from(session, account, viewer_id):
        return Paged([], [])
    rows = await repo.list_following(
        session, account.id, page, exclude_for=_exclusions_for(viewer_id, account.id), now=utcnow()
    )
    return Paged.of(rows)


async def list_endorsements(
    session: AsyncSession, viewer_id: int | None, account_id: int, page: Page
) -> Paged[Account]:
    """Featured accounts are a public showcase: hidden only from the blocked, not by hide_collections."""
    account = await get_target(session, account_id)
    if account.suspended_at is not None:
        return Paged([], [])
    if (
        viewer_id is not None
        and viewer_id != account.id
        and await repo.blocks(session, account.id, viewer_id)
    ):
        return Paged([], [])
    rows = await repo.list_pins(
        session, account.id, page, exclude_for=_exclusions_for(viewer_id, account.id), now=utcnow()
    )
    return Paged.of(rows)


async def list_follow_requests(session: AsyncSession, viewer_id: int, page: Page) -> Paged[Account]:
    return Paged.of(await repo.list_follow_requests(session, viewer_id, page))


async def list_blocks(session: AsyncSession, viewer_id: int, page: Page) -> Paged[Account]:
    return Paged.of(await repo.list_blocks(session, viewer_id, page))


async def list_mutes(
    session: AsyncSession, viewer_id: int, page: Page
) -> Paged[tuple[Account, datetime | None]]:
    rows = await repo.list_mutes(session, viewer_id, page, utcnow())
    return Paged.of([(mute_id, (account, expires_at)) for mute_id, account, expires_at in rows])


async def list_domain_blocks(session: AsyncSession, viewer_id: int, page: Page) -> Paged[str]:
    return Paged.of(await repo.list_domain_blocks(session, viewer_id, page))


async def familiar_followers(
    session: AsyncSession, viewer_id: int, ids: Sequence[int]
) -> list[FamiliarFollowers]:
    """For each known target: the accounts the viewer follows who follow it."""
    wanted = _dedupe(ids)[:MAX_IDS]
    accounts = await repo.get_accounts(session, wanted)
    targets = [accounts[i] for i in wanted if i in accounts and accounts[i].suspended_at is None]
    open_ids = [a.id for a in targets if not a.hide_collections or a.id == viewer_id]
    found: dict[int, list[Account]] = {}
    if open_ids:
        for target_id, account in await repo.familiar_followers(session, viewer_id, open_ids, utcnow()):
            found.setdefault(target_id, []).append(account)
    return [FamiliarFollowers(a.id, found.get(a.id, [])) for a in targets]


# -- account search -------------------------------------------------------------------------


async def search_accounts(
    session: AsyncSession,
    viewer_id: int,
    query: str,
    *,
    local_domain: str,
    limit: int,
    offset: int = 0,
    following: bool = False,
    resolve: bool = False,
) -> list[Account]:
    """Known accounts by handle prefix or display name; `@user@ourdomain` is a local handle.

    `resolve` (looking up an unknown remote handle) is done by the route before this runs.
    """
    text = " ".join(query.split()).lower().lstrip("@")
    if not text or limit < 1 or offset > SEARCH_OFFSET_MAX:
        return []
    username, at, domain_part = text.partition("@")
    username = username.strip()
    domain_given = bool(at) and bool(domain_part.strip())
    domain: str | None = domain_part.strip() or None
    if domain_given and domain in _local_hosts(local_domain):
        domain = None
    if not username:
        return []
    exact_key = f"{username}@{domain or ''}"
    return await repo.search_accounts(
        session,
        username_prefix=username,
        domain=domain,
        domain_given=domain_given,
        display_contains=None if at else text,
        exact_key=exact_key,
        viewer_id=viewer_id,
        following_only=following,
        limit=limit,
        offset=max(0, offset),
    )


def _local_hosts(local_domain: str) -> set[str]:
    host = local_domain.lower()
    return {host, host.split(":", 1)[0]}


# -- home feed ------------------------------------------------------------------------------


async def merge_into_home(session: AsyncSession, follower_id: int, target_id: int) -> int:
    """Copy the target's recent statuses the follower may see into the follower's home feed.

    Applies the home feed's filters as Mastodon does: nothing from a muted account, boosts only
    if the follow shows them and not of shunned authors, only the followed languages, no
    replies to strangers, and one entry per boosted original. Returns how many were added.
    """
    link = await repo.get_link(session, Follow, follower_id, target_id)
    if link is None:
        return 0
    now = utcnow()
    if await repo.muting(session, follower_id, target_id, now):
        return 0
    candidates = await repo.feed_candidates(session, follower_id, target_id, FEED_MERGE_LIMIT)
    if not link.show_reblogs:
        candidates = [c for c in candidates if c.reblog_of_id is None]
    if link.languages:
        allowed = set(link.languages)
        candidates = [
            c for c in candidates if c.reblog_of_id is not None or c.language is None or c.language in allowed
        ]
    reply_to = {c.in_reply_to_account_id for c in candidates if c.in_reply_to_account_id is not None}
    followed = await repo.following_among(session, follower_id, sorted(reply_to - {follower_id, target_id}))
    known_repliees = followed | {follower_id, target_id}
    originals_authors = {c.original_account_id for c in candidates if c.original_account_id is not None}
    shunned = await repo.shunned_among(session, follower_id, sorted(originals_authors), now)
    originals = sorted({c.reblog_of_id for c in candidates if c.reblog_of_id is not None})
    seen = await repo.originals_in_feed(session, follower_id, originals)
    own_ids = {c.status_id for c in candidates if c.reblog_of_id is None}

    rows = []
    for c in candidates:
        if c.in_reply_to_account_id is not None and c.in_reply_to_account_id not in known_repliees:
            continue
        if c.reblog_of_id is not None:
            if c.original_account_id in shunned or c.reblog_of_id in seen or c.reblog_of_id in own_ids:
                continue
            seen.add(c.reblog_of_id)
        rows.append(
            {
                "account_id": follower_id,
                "status_id": c.status_id,
                "origin_account_id": target_id,
                "reblog_of_id": c.reblog_of_id,
            }
        )
    await repo.insert_feed_entries(session, rows)
    return len(rows)


async def unmerge_from_home(
    session: AsyncSession, account_id: int, target_id: int, *, purge: bool = False
) -> int:
    """Take the target's entries out of a home feed, unless the reason no longer holds.

    Jobs may run out of order (unfollow then follow again), so a plain unmerge happens only
    while the account does not follow the target, and a purge (block, mute) only while the
    block or mute is still there.
    """
    if purge:
        now = utcnow()
        still = await repo.blocked_either_way(session, account_id, target_id) or await repo.muting(
            session, account_id, target_id, now
        )
        if not still:
            return 0
    elif await repo.get_link(session, Follow, account_id, target_id) is not None:
        return 0
    return await repo.delete_feed_entries(session, account_id, target_id, purge=purge)


# -- notifications --------------------------------------------------------------------------


async def notify_follow(uow: UnitOfWork, *, kind: str, recipient_id: int, from_account_id: int) -> None:
    """A `follow` or `follow_request` notification, in the same transaction as the follow."""
    await notify(uow, type=kind, recipient_id=recipient_id, from_account_id=from_account_id)
