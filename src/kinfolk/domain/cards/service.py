"""Which card a status shows, and when its link is fetched.

Mastodon fetches a link once per post that carries it, on every server at once: a link shared
by fifty posts costs its site fifty requests from each server (a known stampede). Here a card
belongs to the link: the first post that carries it makes the row and enqueues one
`preview_cards.fetch` job, whose dedup key (the card and the refresh period) makes every other
post of the same link enqueue nothing; remote posts start it after a random delay, so servers
that received the same post do not all fetch at the same second. A card is fetched again only
when a post carries it after `REFRESH` (Mastodon's two weeks).

Runs from the `statuses.created` and `statuses.updated` jobs, in their unit of work: never any
network here.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from kinfolk.config import Settings
from kinfolk.db.database import UnitOfWork
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.cards.extract import link_digest, links_of, origin_of
from kinfolk.domain.cards.models import PreviewCard, StatusPreviewCard
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.statuses.models import Mention, Status
from kinfolk.kernel.clock import utcnow
from kinfolk.kernel.ids import new_id

FETCH_JOB = "preview_cards.fetch"
REFRESH = timedelta(days=14)


def stale(card: PreviewCard, now: datetime) -> bool:
    """Whether a card is to be fetched (again): never fetched, or fetched before `REFRESH`."""
    return card.fetched_at is None or card.fetched_at <= now - REFRESH


def fetch_dedup_key(card_id: int, now: datetime) -> str:
    """One fetch per card per refresh period, however many posts carry its link."""
    period = int(now.timestamp() // REFRESH.total_seconds())
    return f"{FETCH_JOB}:{card_id}:{period}"


async def card_link(uow: UnitOfWork, settings: Settings, status: Status) -> str | None:
    """The link a status's card is for, by Mastodon's rules: none for a boost, for a post with
    media attachments, or for a remote post behind a content warning (Mastodon does not crawl
    those); else its first link that is not a hashtag, a mention or one of our pages."""
    if status.reblog_of_id is not None or (not status.local and status.spoiler_text):
        return None
    candidates = links_of(status.content, own_origin=origin_of(settings.base_url) or "")
    if not candidates:
        return None
    session = uow.session
    has_media = (
        await session.execute(
            select(MediaAttachment.id).where(MediaAttachment.status_id == status.id).limit(1)
        )
    ).first()
    if has_media is not None:
        return None
    mentioned: set[str] = set()
    for url, uri, username, domain in (
        await session.execute(
            select(Account.url, Account.uri, Account.username, Account.domain)
            .join(Mention, Mention.account_id == Account.id)
            .where(Mention.status_id == status.id)
        )
    ).all():
        mentioned.update(v for v in (url, uri) if v)
        if domain is None:
            mentioned.add(settings.uris.profile(username))
    for href, link in candidates:
        if href not in mentioned and link not in mentioned:
            return link
    return None


async def attach_card(uow: UnitOfWork, settings: Settings, status: Status, *, replace: bool = False) -> None:
    """Give `status` the card of its link (made pending if the link is new) and enqueue the
    link's fetch when the card needs one. `replace` (an edit) drops a card whose link is gone."""
    link = await card_link(uow, settings, status)
    session = uow.session
    if replace:
        current = (
            await session.execute(
                select(PreviewCard.link)
                .join(StatusPreviewCard, StatusPreviewCard.card_id == PreviewCard.id)
                .where(StatusPreviewCard.status_id == status.id)
            )
        ).scalar_one_or_none()
        if current == link:
            return
        if current is not None:
            await session.execute(delete(StatusPreviewCard).where(StatusPreviewCard.status_id == status.id))
    if link is None:
        return
    card = await _card_for(uow, link)
    insert = postgresql.insert if uow.db.dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(StatusPreviewCard)
        .values(status_id=status.id, card_id=card.id)
        .on_conflict_do_nothing(index_elements=["status_id"])
    )
    now = utcnow()
    if stale(card, now):
        jitter = 0.0 if status.local else random.uniform(0.0, settings.preview_card_jitter_seconds)
        await uow.enqueue(
            FETCH_JOB,
            {"card_id": card.id},
            run_at=now + timedelta(seconds=jitter),
            dedup_key=fetch_dedup_key(card.id, now),
        )


async def _card_for(uow: UnitOfWork, link: str) -> PreviewCard:
    """The card row of `link`, made (pending) if there is none; two posts of a new link racing
    make one row."""
    session = uow.session
    digest = link_digest(link)
    insert = postgresql.insert if uow.db.dialect == "postgresql" else sqlite.insert
    now = utcnow()
    await session.execute(
        insert(PreviewCard)
        .values(
            id=new_id(),
            link_digest=digest,
            link=link,
            url=link,
            type="link",
            title="",
            description="",
            author_name="",
            author_url="",
            provider_name="",
            provider_url="",
            html="",
            width=0,
            height=0,
            embed_url="",
            image_description="",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["link_digest"])
    )
    return (await session.execute(select(PreviewCard).where(PreviewCard.link_digest == digest))).scalar_one()
