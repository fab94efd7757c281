"""A status as a `Note` (a `Question` when it carries a poll).

Addressing follows Mastodon, which every large server reads the visibility back from:

    public    to Public      cc followers (+ mentioned)
    unlisted  to followers   cc Public (+ mentioned)
    private   to followers   cc mentioned
    direct    to mentioned

A remote server decides who may see the post from these lists alone, so they are derived from
the stored visibility and mentions here and nowhere else (the `Create` copies them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kinfolk.domain.accounts.models import Account
from kinfolk.domain.media.models import MediaAttachment
from kinfolk.domain.polls.models import Poll
from kinfolk.domain.statuses.models import Conversation, Status
from kinfolk.domain.tags.models import Tag
from kinfolk.federation.render.context import with_context
from kinfolk.federation.render.env import PUBLIC, RenderEnv, ap_time, media_type_of
from kinfolk.kernel.clock import utcnow

_DOCUMENT_TYPES = {"image": "Image", "gifv": "Document", "video": "Document", "audio": "Document"}


@dataclass
class NoteRows:
    """A status and every row its document shows, loaded by `federation.repo.note_rows`."""

    status: Status
    author: Account
    # The parent's id (stored uri, or ours for a local parent), when the status is a reply.
    in_reply_to: str | None = None
    mentions: list[Account] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    media: list[MediaAttachment] = field(default_factory=list)
    poll: Poll | None = None
    conversation: Conversation | None = None
    emojis: list[dict[str, Any]] = field(default_factory=list)
    # The FEP-f228 collection of a thread started here (`Uris.context`); None for others'.
    context: str | None = None


@dataclass(frozen=True)
class Audience:
    to: list[str]
    cc: list[str]


def status_uri(env: RenderEnv, status: Status, author: Account) -> str:
    """The status's ActivityPub id: stored for remote statuses, ours for local ones."""
    if status.uri:
        return status.uri
    if author.domain is None:
        return env.uris.status(author.username, status.id)
    raise ValueError("a remote status without an id")


def status_page(env: RenderEnv, status: Status, author: Account) -> str:
    if author.domain is None:
        return env.uris.status_page(author.username, status.id)
    return status.url or status_uri(env, status, author)


def audience(env: RenderEnv, status: Status, author: Account, mentions: list[Account]) -> Audience:
    followers = env.uris.followers(author.username)
    mentioned = [env.uris.account_id(a) for a in mentions if a.id != author.id]
    visibility = status.visibility
    if visibility == "public":
        return Audience(to=[PUBLIC], cc=[followers, *mentioned])
    if visibility == "unlisted":
        return Audience(to=[followers], cc=[PUBLIC, *mentioned])
    if visibility == "private":
        return Audience(to=[followers], cc=mentioned)
    return Audience(to=mentioned, cc=[])


def conversation_uri(env: RenderEnv, rows: NoteRows) -> str | None:
    """The thread's id: stored when it came from elsewhere; a tag URI (not a URL, so nothing to
    dereference) for threads started here, in Mastodon's form."""
    conversation = rows.conversation
    if conversation is None:
        return None
    if conversation.uri:
        return conversation.uri
    year = conversation.created_at.year
    return f"tag:{env.domain},{year}:objectId={conversation.id}:objectType=Conversation"


def _tags(env: RenderEnv, rows: NoteRows) -> list[dict[str, Any]]:
    tags: list[dict[str, Any]] = [
        {"type": "Mention", "href": env.uris.account_id(a), "name": f"@{_full_acct(env, a)}"}
        for a in rows.mentions
    ]
    tags.extend(
        {"type": "Hashtag", "href": env.uris.tag(t.name), "name": f"#{t.display_name or t.name}"}
        for t in rows.tags
    )
    tags.extend(rows.emojis)
    return tags


def _full_acct(env: RenderEnv, account: Account) -> str:
    return f"{account.username}@{account.domain or env.domain}"


def _attachment(env: RenderEnv, media: MediaAttachment) -> dict[str, Any] | None:
    if media.file_key:
        url = env.media_url(media.file_key)
    elif media.remote_url:
        url = media.remote_url
    else:
        return None
    document: dict[str, Any] = {
        "type": _DOCUMENT_TYPES.get(media.type, "Document"),
        "mediaType": media.content_type or media_type_of(url),
        "url": url,
        "name": media.description or None,
        "blurhash": media.blurhash,
    }
    if media.type in ("image", "gifv", "video"):
        document["focalPoint"] = [media.focus_x, media.focus_y]
    original = (media.meta or {}).get("original")
    if isinstance(original, dict):
        for key in ("width", "height"):
            if isinstance(original.get(key), int):
                document[key] = original[key]
    return document


def _replies(env: RenderEnv, rows: NoteRows) -> dict[str, Any] | None:
    author = rows.author
    if author.domain is not None:
        return None
    collection = env.uris.replies(author.username, rows.status.id)
    return {
        "id": collection,
        "type": "Collection",
        "first": {
            "type": "CollectionPage",
            "next": f"{collection}?page=true",
            "partOf": collection,
            "items": [],
        },
    }


def _poll_fields(poll: Poll) -> dict[str, Any]:
    tallies = list(poll.cached_tallies or [])
    options = [
        {
            "type": "Note",
            "name": name,
            "replies": {"type": "Collection", "totalItems": tallies[i] if i < len(tallies) else 0},
        }
        for i, name in enumerate(poll.options or [])
    ]
    fields: dict[str, Any] = {
        "anyOf" if poll.multiple else "oneOf": options,
        "votersCount": poll.voters_count,
    }
    if poll.expires_at is not None:
        fields["endTime"] = ap_time(poll.expires_at)
        if poll.expires_at <= utcnow():
            fields["closed"] = ap_time(poll.expires_at)
    return fields


def render_note_object(env: RenderEnv, rows: NoteRows) -> dict[str, Any]:
    """The `Note` or `Question` without `@context`: embedded in a `Create`, or served alone
    through `render_note`."""
    status, author = rows.status, rows.author
    addressed = audience(env, status, author, rows.mentions)
    conversation = conversation_uri(env, rows)
    content = status.content
    document: dict[str, Any] = {
        "id": status_uri(env, status, author),
        "type": "Question" if rows.poll is not None else "Note",
        "summary": status.spoiler_text or None,
        "inReplyTo": rows.in_reply_to,
        "published": ap_time(status.created_at),
        "url": status_page(env, status, author),
        "attributedTo": env.uris.account_id(author),
        "to": addressed.to,
        "cc": addressed.cc,
        "sensitive": status.sensitive,
        "conversation": conversation,
        "context": rows.context or conversation,
        "content": content,
        "attachment": [a for a in (_attachment(env, m) for m in rows.media) if a is not None],
        "tag": _tags(env, rows),
    }
    if status.language:
        document["contentMap"] = {status.language: content}
    if status.edited_at is not None:
        document["updated"] = ap_time(status.edited_at)
    replies = _replies(env, rows)
    if replies is not None:
        document["replies"] = replies
    if rows.poll is not None:
        document.update(_poll_fields(rows.poll))
    return document


def render_note(env: RenderEnv, rows: NoteRows) -> dict[str, Any]:
    return with_context(render_note_object(env, rows))
