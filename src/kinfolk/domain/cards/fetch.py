"""Fetching a link's page (and its oEmbed answer, and its image) within the outbound guard's limits.

Whoever posts chooses the link, so the fetch is the remote-media fetch's kind: the guarded
session (no private address, whatever DNS says, at every redirect hop), one deadline for the
whole fetch, a cap on the decompressed body, HTML only. Nothing here touches the database: the
job fetches first and writes afterwards in one short unit of work.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import aiohttp

from kinfolk.config import Settings
from kinfolk.domain.cards.extract import (
    CardFields,
    absolute_url,
    card_from_oembed,
    card_from_page,
    decode_page,
    read_page,
)
from kinfolk.domain.media import processing
from kinfolk.domain.media.processing import MediaError, MediaLimits
from kinfolk.domain.media.remote import DownloadError, download
from kinfolk.domain.media.service import work_dir
from kinfolk.infra.fetch import (
    JSON_TYPES,
    REDIRECT_STATUSES,
    FetchError,
    connection_failure,
    failure_for_status,
    fetch_json,
    media_type,
    read_capped,
)
from kinfolk.infra.outbound import DisallowedDestination, check_url, guarded_session
from kinfolk.infra.storage import Storage
from kinfolk.kernel.ids import new_id

log = logging.getLogger("kinfolk.cards")

# Mastodon reads at most 1 MB of a page; ours is the same, counted after decompression.
MAX_PAGE_BYTES = 1024 * 1024
MAX_OEMBED_BYTES = 64 * 1024
MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_REDIRECTS = 3
DEADLINE_SECONDS = 15.0
USER_AGENT = "Kinfolk (link preview; +https://joinmastodon.org/) Bot"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
OEMBED_TYPES = frozenset({*JSON_TYPES, "text/json", "application/json+oembed"})


async def fetch_card(settings: Settings, link: str) -> CardFields:
    """The card for `link`: its oEmbed answer when the page offers one that says enough, else
    its metadata. Raises FetchError (`permanent` when asking again won't help, including a page
    with nothing to show)."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=10)
    try:
        async with asyncio.timeout(DEADLINE_SECONDS), guarded_session(settings, timeout, limit=2) as session:
            final_url, body, charset = await _get_page(session, settings, link)
            details = read_page(decode_page(body, charset))
            card: CardFields | None = None
            endpoint = absolute_url(final_url, details.oembed) if details.oembed else None
            if endpoint is not None:
                try:
                    answer = await fetch_json(
                        session,
                        endpoint,
                        allowed=settings.allowed_private_networks,
                        headers_for=lambda _url: {"User-Agent": USER_AGENT},
                        accept="application/json",
                        content_types=OEMBED_TYPES,
                        check_id_origin=False,
                        max_bytes=MAX_OEMBED_BYTES,
                        deadline=DEADLINE_SECONDS,
                    )
                    card = card_from_oembed(final_url, answer.final_url, answer.json)
                except FetchError as exc:
                    log.debug("oEmbed of %s failed: %s", link, exc)
            if card is None:
                card = card_from_page(final_url, details)
    except FetchError:
        raise
    except (aiohttp.ClientError, OSError, TimeoutError, DisallowedDestination) as exc:
        raise connection_failure(exc) from exc
    if not card.usable:
        raise FetchError("the page has no title", permanent=True)
    return card


async def fetch_page(settings: Settings, url: str, *, user_agent: str = USER_AGENT) -> tuple[str, str]:
    """An HTML page's final URL and decoded text, under the same guard, deadline and size cap as
    a card's page: profile links are verified by reading the page they name (`accounts/links.py`)
    and must not be a second, laxer way to fetch a URL someone typed. Raises FetchError."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=10)
    try:
        async with asyncio.timeout(DEADLINE_SECONDS), guarded_session(settings, timeout, limit=2) as session:
            final_url, body, charset = await _get_page(session, settings, url, user_agent=user_agent)
    except FetchError:
        raise
    except (aiohttp.ClientError, OSError, TimeoutError, DisallowedDestination) as exc:
        raise connection_failure(exc) from exc
    return final_url, decode_page(body, charset)


async def _get_page(
    session: aiohttp.ClientSession, settings: Settings, url: str, *, user_agent: str = USER_AGENT
) -> tuple[str, bytes, str | None]:
    """The page's final URL, body and declared charset, following redirects ourselves so that
    each hop is checked."""
    headers = {"Accept": "text/html", "User-Agent": user_agent}
    seen: set[str] = set()
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            check_url(url, settings.allowed_private_networks)
        except (DisallowedDestination, ValueError) as exc:
            raise FetchError(f"refused destination: {exc}", permanent=True) from exc
        if url in seen:
            raise FetchError("redirect loop", permanent=True)
        seen.add(url)
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            if response.status in REDIRECT_STATUSES:
                location = response.headers.get("Location")
                if not location:
                    raise FetchError(f"HTTP {response.status} without Location", permanent=True)
                url = urljoin(url, location.strip())
                continue
            if response.status != 200:
                raise failure_for_status(response.status, response.headers.get("Retry-After"), url)
            content_type = response.headers.get("Content-Type", "")
            if media_type(content_type) not in HTML_TYPES:
                raise FetchError(f"not an HTML page ({content_type[:100]!r})", permanent=True)
            body = await read_capped(response, MAX_PAGE_BYTES)
            return url, body, response.charset
    raise FetchError(f"more than {MAX_REDIRECTS} redirects", permanent=True)


@dataclass(frozen=True)
class CardImage:
    key: str
    width: int
    height: int
    blurhash: str | None


async def copy_image(settings: Settings, storage: Storage, card_id: int, url: str) -> CardImage | None:
    """The card's image downloaded and re-encoded through the media pipeline (bomb guard,
    stripped metadata, a small rendition, blurhash) into our storage: clients never load it from
    its origin. None when it can't be had; the card is shown without an image then."""
    limits = MediaLimits.from_settings(settings)
    try:
        async with work_dir(settings) as work:
            path = work / "image"
            declared = await download(settings, url, path, max_bytes=min(MAX_IMAGE_BYTES, limits.any_bytes))
            processed = await asyncio.to_thread(_process_image, path, declared, limits)
            small = processed.output("small") or processed.output("file")
            if small is None:
                return None
            key = f"cards/{card_id}/{new_id()}.{small.extension}"
            if small.data is not None:
                await storage.put(key, small.data, small.content_type)
            else:
                assert small.path is not None
                await storage.put_file(key, small.path, small.content_type)
    except (DownloadError, MediaError, OSError) as exc:
        log.info("card image %s not copied: %s", url, exc)
        return None
    size = processed.meta.get("small") or processed.meta.get("original") or {}
    return CardImage(
        key=key,
        width=int(size.get("width") or 0),
        height=int(size.get("height") or 0),
        blurhash=processed.blurhash,
    )


def _process_image(path: Path, declared: str, limits: MediaLimits) -> processing.Processed:
    source = processing.analyse(path, declared, limits)
    if source.kind != "image":
        raise MediaError("is not a still image")
    return processing.process_image(source, limits)
