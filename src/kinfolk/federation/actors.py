"""A parsed actor document as the row data the accounts area stores (`RemoteAccountData`).

The one mapping from `ParsedActor` to an account: whoever fetched the actor (a key lookup in
`keys.py`, `dereference.fetch_actor`, an `Update` of a Person) stores it the same way. The
summary and the profile fields' values are remote HTML and are sanitised here, before they can
reach a row; avatar and header are remote URLs, which the upsert queues for copying
(`domain/accounts/remote_images.py`).
"""

from __future__ import annotations

from datetime import datetime

from kinfolk.domain.accounts.remote import RemoteAccountData
from kinfolk.domain.emojis.service import RemoteEmoji
from kinfolk.federation.parse.actor import ParsedActor
from kinfolk.federation.parse.tags import ParsedEmoji
from kinfolk.federation.parse.values import host
from kinfolk.text.sanitize import sanitize_html


def actor_domain(actor_id: str) -> str:
    """The `domain` an actor is stored under: the normalised host of its id (with a port when
    not the default one, as Mastodon keeps it). Raises ValueError for an id that is no URL."""
    found = host(actor_id)
    if not found:
        raise ValueError(f"not an http(s) actor id: {actor_id[:200]!r}")
    return found


def remote_emojis(parsed: tuple[ParsedEmoji, ...]) -> list[RemoteEmoji]:
    """Parsed `Emoji` tags (shortcode and picture URL already checked) as the emojis area
    keeps them; for posts and actors alike."""
    return [RemoteEmoji(e.shortcode, e.icon_url, e.id, e.updated) for e in parsed]


def remote_account_data(parsed: ParsedActor, fetched_at: datetime) -> RemoteAccountData:
    """The account row data for `parsed`, with its HTML sanitised; raises ValueError when the
    actor's id is not a URL we could name a domain by."""
    return RemoteAccountData(
        uri=parsed.id,
        username=parsed.preferred_username,
        domain=actor_domain(parsed.id),
        display_name=parsed.name or "",
        note=sanitize_html(parsed.summary or ""),
        fields=[{"name": f.name, "value": sanitize_html(f.value)} for f in parsed.fields],
        url=parsed.url,
        inbox_url=parsed.inbox,
        outbox_url=parsed.outbox,
        shared_inbox_url=parsed.shared_inbox,
        followers_url=parsed.followers,
        following_url=parsed.following,
        featured_url=parsed.featured,
        featured_tags_url=parsed.featured_tags,
        public_key_pem=parsed.public_key_pem or "",
        public_key_id=parsed.public_key_id,
        ed25519_key_id=parsed.ed25519_key_id,
        ed25519_public_key=parsed.ed25519_public_key,
        avatar_remote_url=parsed.icon_url,
        header_remote_url=parsed.image_url,
        locked=parsed.manually_approves_followers,
        bot=parsed.bot,
        group=parsed.type == "Group",
        discoverable=bool(parsed.discoverable),
        indexable=bool(parsed.indexable),
        actor_type=parsed.type,
        published=parsed.published,
        also_known_as=list(parsed.also_known_as),
        moved_to_uri=parsed.moved_to,
        fetched_at=fetched_at,
        emojis=remote_emojis(parsed.emojis),
    )
