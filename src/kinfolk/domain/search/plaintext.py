"""The plain text of a status that search and filters match against, as Mastodon builds it.

Local statuses keep their source text; remote ones only have HTML, which is reduced to text with
paragraph and line breaks kept (so word boundaries survive) and entities decoded.
"""

from __future__ import annotations

import html
import re

_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH_END = re.compile(r"</p\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def html_to_text(content: str) -> str:
    if not content:
        return ""
    text = _BREAK.sub("\n", content)
    text = _PARAGRAPH_END.sub("\n\n", text)
    return html.unescape(_strip_tags(text)).strip()


def _strip_tags(text: str) -> str:
    """Every `<...>` removed, in one pass: a `<` with no `>` after it stays, and looking for that
    `>` from each such `<` would be quadratic, so only the part up to the last `>` is searched."""
    last = text.rfind(">")
    if last < 0:
        return text
    return _TAG.sub("", text[: last + 1]) + text[last + 1 :]


def status_plain_text(text: str, content: str, local: bool) -> str:
    """Source text for local statuses (what the author typed), stripped HTML otherwise."""
    if local and text:
        return text
    return html_to_text(content)


def searchable_text(
    *,
    text: str,
    content: str,
    local: bool,
    spoiler_text: str = "",
    poll_options: list[str] | None = None,
    media_descriptions: list[str] | None = None,
) -> str:
    parts = [spoiler_text, status_plain_text(text, content, local)]
    if poll_options:
        parts.append("\n\n".join(poll_options))
    if media_descriptions:
        parts.append("\n\n".join(d for d in media_descriptions if d))
    return "\n\n".join(p for p in parts if p)
