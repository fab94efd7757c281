"""The one URI and URL scheme of this server: actors, statuses, activities, collections, tags, pages.

Every ActivityPub id and every public URL this server hands out is formatted here and nowhere
else (GoToSocial's `uris` package plays the same part), so that the API, the ActivityPub
documents, WebFinger and the HTML pages can never disagree. The shapes follow Mastodon's, which
other servers and people already recognise:

    actor            {base}/users/{username}           profile page   {base}/@{username}
    status           {actor}/statuses/{id}             status page    {base}/@{username}/{id}
    Create/Announce  {status}/activity                 replies        {status}/replies
    thread (FEP-f228 context)  {base}/contexts/{conversation id}
    inbox, outbox, followers, following, featured      {actor}/inbox, /outbox, ... /collections/featured
    shared inbox     {base}/inbox                      instance actor {base}/actor
    tag              {base}/tags/{lower-cased, quoted name}
    collection       {actor}/collections/{id}          collection page {base}/collections/{id}

Remote objects keep the ids and URLs their server gave; a remote account or status is never
given one of ours (`account_page` falls back to the remote id, not to a local page).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit

_USERNAME = r"(?P<username>[A-Za-z0-9_]+(?:[.-][A-Za-z0-9_]+)*)"
_ID = r"(?P<id>\d{1,19})"
_STATUS_PATHS = (
    re.compile(rf"^/@{_USERNAME}/{_ID}/?$"),
    re.compile(rf"^/users/{_USERNAME}/statuses/{_ID}(?:/activity)?/?$"),
)
_ACTOR_PATHS = (
    re.compile(rf"^/@{_USERNAME}/?$"),
    re.compile(rf"^/users/{_USERNAME}/?$"),
)
_TAG_PATH = re.compile(r"^/tags/(?P<name>[^/?#]+)/?$")


class AccountLike(Protocol):
    """What the scheme needs of an account row (the ORM model and the fast path's rows both fit)."""

    username: str
    domain: str | None
    uri: str | None
    url: str | None


@dataclass(frozen=True)
class Uris:
    """The scheme for one server, whose origin is `base` (``https://example.com``, no slash)."""

    base: str

    # Actors and their collections.
    def actor(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def key_id(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def ed25519_key_id(self, username: str) -> str:
        """The id of the account's Ed25519 `assertionMethod` key (FEP-521a)."""
        return f"{self.actor(username)}#ed25519-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def featured(self, username: str) -> str:
        return f"{self.actor(username)}/collections/featured"

    def featured_tags(self, username: str) -> str:
        return f"{self.actor(username)}/collections/tags"

    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    def instance_key_id(self) -> str:
        return f"{self.instance_actor()}#main-key"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def tagged(self, username: str, tag_name: str) -> str:
        return f"{self.profile(username)}/tagged/{quote(tag_name.lower(), safe='')}"

    # Statuses and activities.
    def status(self, username: str, status_id: int) -> str:
        return f"{self.actor(username)}/statuses/{status_id}"

    def status_page(self, username: str, status_id: int) -> str:
        return f"{self.profile(username)}/{status_id}"

    def status_activity(self, username: str, status_id: int) -> str:
        """The `Create` of a status, or the `Announce` that a boost is."""
        return f"{self.status(username, status_id)}/activity"

    def replies(self, username: str, status_id: int) -> str:
        return f"{self.status(username, status_id)}/replies"

    def context(self, conversation_id: int) -> str:
        """A thread started here, as an FEP-f228 collection of its posts (Mastodon 4.4's path)."""
        return f"{self.base}/contexts/{conversation_id}"

    def activity(self, username: str, kind: str, object_id: int | str) -> str:
        """An activity that is not a status (a follow, like, block, update...): a fragment of the actor."""
        return f"{self.actor(username)}#{kind}/{object_id}"

    def actor_delete(self, username: str) -> str:
        """The `Delete` of the actor itself (its account deleted): one per actor, as Mastodon's."""
        return f"{self.actor(username)}#delete"

    def undo(self, activity_uri: str) -> str:
        return f"{activity_uri}/undo"

    # Tags.
    def tag(self, name: str) -> str:
        return f"{self.base}/tags/{quote(name.lower(), safe='')}"

    # Custom emojis (Mastodon's `/emojis/:id`, the id of an `Emoji` tag).
    def emoji(self, emoji_id: int) -> str:
        return f"{self.base}/emojis/{emoji_id}"

    # Collections (Mastodon 4.6's featured collections of accounts).
    def collection(self, username: str, collection_id: int) -> str:
        return f"{self.actor(username)}/collections/{collection_id}"

    def collection_page(self, collection_id: int) -> str:
        return f"{self.base}/collections/{collection_id}"

    @property
    def host(self) -> str:
        """The host (with its port, if any) that handles `user@host` name: ``example.com``."""
        return urlsplit(self.base).netloc.lower()

    # Any account, local or remote.
    def account_id(self, account: AccountLike) -> str:
        """The ActivityPub id: the stored one, derived only for a local account stored without it."""
        if account.uri:
            return account.uri
        if account.domain is None:
            return self.actor(account.username)
        raise ValueError("a remote account without an id")

    def account_page(self, account: AccountLike) -> str:
        """The page a browser opens: ours for a local account; theirs (or their id) for a remote one.

        A remote account known by neither (only a half-made row) has no page: "" (as Mastodon
        renders a blank uri), never one of ours and never an error in the middle of a listing."""
        if account.domain is None:
            return self.profile(account.username)
        return account.url or account.uri or ""

    # Reading our own URLs back.
    def is_local(self, url: str) -> bool:
        """Does `url` name this server? The host and explicit port decide, as Mastodon's
        `local_uri?` does: `http://` typed for our `https://` still names us (and a remote
        document can no more claim it than the https form). A user-info part
        (``https://example.com@evil.example/``) or a malformed port never does."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or "@" in parts.netloc:
            return False
        host = (parts.hostname or "").rstrip(".")
        if port is not None:
            host = f"{host}:{port}"
        return bool(host) and host == self.host

    def parse_status(self, url: str) -> tuple[str, int] | None:
        """(username, status id) when `url` is one of our status ids or pages."""
        if not self.is_local(url):
            return None
        path = urlsplit(url).path
        for pattern in _STATUS_PATHS:
            match = pattern.match(path)
            if match:
                return match.group("username"), int(match.group("id"))
        return None

    def parse_actor(self, url: str) -> str | None:
        """The username when `url` is one of our actor ids or profile pages."""
        if not self.is_local(url):
            return None
        path = urlsplit(url).path
        for pattern in _ACTOR_PATHS:
            match = pattern.match(path)
            if match:
                return match.group("username")
        return None

    def parse_tag(self, url: str) -> str | None:
        if not self.is_local(url):
            return None
        match = _TAG_PATH.match(urlsplit(url).path)
        return unquote(match.group("name")).lower() if match else None
