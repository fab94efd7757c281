"""`preview_cards.fetch`: one link's page fetched for every post that carries it.

The network comes first (the page, its oEmbed answer, its image), with no unit of work open;
then the card is written in the job's own unit of work, and the streams showing the recent
posts of the link hear `status.update`, so clients show the card as it arrives.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from kinfolk.domain.cards import fetch
from kinfolk.domain.cards.extract import CardFields
from kinfolk.domain.cards.models import PreviewCard, StatusPreviewCard
from kinfolk.domain.cards.service import FETCH_JOB, stale
from kinfolk.domain.statuses.models import Status
from kinfolk.domain.timelines import distribution
from kinfolk.infra.fetch import FetchError
from kinfolk.jobs.context import JobContext
from kinfolk.jobs.registry import PermanentJobError, RetryLater, handles
from kinfolk.kernel.clock import utcnow

log = logging.getLogger("kinfolk.cards")

# Statuses told of their new card on the streams: the newest of the link's posts (older ones
# show it when next read); bounded whatever the number of posts.
MAX_STREAMED = 40
_COPIED = (
    "url",
    "type",
    "title",
    "description",
    "author_name",
    "author_url",
    "provider_name",
    "provider_url",
    "html",
    "width",
    "height",
    "embed_url",
    "language",
    "published_at",
    "image_remote_url",
    "image_description",
)


@handles(FETCH_JOB)
async def fetch_preview_card(ctx: JobContext, payload: dict[str, Any]) -> None:
    try:
        card_id = int(payload["card_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentJobError(f"bad payload: {payload!r}") from exc
    container = ctx.container
    async with container.db.uow(write=False) as read:
        card = await read.session.get(PreviewCard, card_id)
        if card is None or not stale(card, utcnow()):
            return  # gone, or fetched by another job of an earlier period
        link, old_image = card.link, card.image_key
    fields: CardFields | None = None
    error: str | None = None
    try:
        fields = await fetch.fetch_card(container.settings, link)
    except FetchError as exc:
        if not exc.permanent and not ctx.is_last_attempt:
            if exc.retry_after is not None:
                raise RetryLater(exc.retry_after, f"{link}: {exc.reason}") from exc
            raise
        error = exc.reason[:500]
    image = None
    if fields is not None and fields.image_remote_url:
        image = await fetch.copy_image(
            container.settings, container.storage, card_id, fields.image_remote_url
        )
    row = await ctx.uow.session.get(PreviewCard, card_id, with_for_update=True)
    if row is None:
        if image is not None:
            await container.storage.delete(image.key)
        return
    now = utcnow()
    row.fetched_at = now
    row.updated_at = now
    row.error = error
    if fields is not None:
        for name in _COPIED:
            setattr(row, name, getattr(fields, name))
        row.image_key = image.key if image else None
        row.blurhash = image.blurhash if image else None
        if image is not None and fields.type == "link":
            # A link card is as large as its image (Mastodon's), a player as its embed.
            row.width, row.height = image.width, image.height
    if old_image and old_image != row.image_key:
        await ctx.uow.enqueue("media.remove_files", {"keys": [old_image]})
    if error is not None:
        log.info("no card for %s: %s", link, error)
        return
    recent = (
        await ctx.uow.session.execute(
            select(Status)
            .join(StatusPreviewCard, StatusPreviewCard.status_id == Status.id)
            .where(StatusPreviewCard.card_id == card_id, Status.deleted_at.is_(None))
            .order_by(Status.id.desc())
            .limit(MAX_STREAMED)
        )
    ).scalars()
    for status in recent:
        await distribution.status_updated(ctx.uow, status)
