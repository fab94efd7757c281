"""Posts: the shapes real servers send (contentMap only, quotes, PeerTube authors, polls, media) and
the rules that keep them safe (foreign url dropped: checklist 30; caps: checklist 47)."""

from __future__ import annotations

from typing import Any

import pytest

from kinfolk.federation.parse.object import (
    MAX_ATTACHMENTS,
    MAX_CONTENT,
    MAX_POLL_OPTIONS,
    parse_emoji,
    parse_note,
    parse_tombstone,
)
from kinfolk.federation.parse.tags import MAX_PER_KIND
from kinfolk.federation.parse.values import PUBLIC, ParseError

NOTE_ID = "https://a.example/notes/1"
AUTHOR = "https://a.example/users/alice"


def note(**fields: Any) -> dict[str, Any]:
    return {"id": NOTE_ID, "type": "Note", "attributedTo": AUTHOR, "content": "<p>hi</p>", **fields}


def test_a_plain_note() -> None:
    parsed = parse_note(
        note(
            to="as:Public",
            cc=["https://a.example/users/alice/followers"],
            published="2024-01-02T03:04:05Z",
            inReplyTo={"id": "https://b.example/notes/9", "type": "Note"},
            summary="cw",
            sensitive=True,
            conversation="tag:a.example,2024:objectId=1",
            context="https://a.example/contexts/1",
            replies={"id": "https://a.example/notes/1/replies", "type": "Collection"},
        )
    )
    assert parsed.id == NOTE_ID
    assert parsed.attributed_to == AUTHOR
    assert parsed.content == "<p>hi</p>"
    assert parsed.to == (PUBLIC,)
    assert parsed.cc == ("https://a.example/users/alice/followers",)
    assert parsed.in_reply_to == "https://b.example/notes/9"
    assert parsed.summary == "cw"
    assert parsed.sensitive is True
    assert parsed.context == "https://a.example/contexts/1"
    assert parsed.replies == "https://a.example/notes/1/replies"
    assert parsed.published is not None and parsed.published.year == 2024


def test_type_may_be_a_list_and_the_first_known_type_wins() -> None:
    assert parse_note(note(type=["Hypothetical", "Article", "Note"])).type == "Article"
    with pytest.raises(ParseError, match="not a post type"):
        parse_note(note(type=[]))


def test_content_map_alone_gives_content_and_language() -> None:
    doc = note(contentMap={"ja": "<p>こんにちは</p>"})
    del doc["content"]
    parsed = parse_note(doc)
    assert parsed.content == "<p>こんにちは</p>"
    assert parsed.language == "ja"


def test_the_language_is_the_map_entry_matching_content() -> None:
    parsed = parse_note(note(content="<p>hallo</p>", contentMap={"en": "<p>hello</p>", "de": "<p>hallo</p>"}))
    assert parsed.language == "de"
    assert parse_note(note(contentMap={"<script>": "<p>hi</p>"})).language is None


def test_an_article_without_content_shows_its_title_and_link() -> None:
    doc = note(type="Article", name="A <b>title</b>", url="https://a.example/articles/1")
    del doc["content"]
    parsed = parse_note(doc)
    assert parsed.content is not None
    assert "A &lt;b&gt;title&lt;/b&gt;" in parsed.content
    assert 'href="https://a.example/articles/1"' in parsed.content


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("quote", "https://b.example/notes/2"),
        ("quoteUri", "https://b.example/notes/2"),
        ("_misskey_quote", "https://b.example/notes/2"),
        ("quoteUrl", "https://b.example/notes/2"),
        ("quote", {"id": "https://b.example/notes/2", "type": "Note"}),
    ],
)
def test_quotes_in_every_spelling(key: str, value: object) -> None:
    assert parse_note(note(**{key: value})).quote == "https://b.example/notes/2"


def test_quote_spellings_in_order_and_unsafe_ones_ignored() -> None:
    parsed = parse_note(note(quoteUri="javascript:alert(1)", _misskey_quote="https://b.example/notes/3"))
    assert parsed.quote == "https://b.example/notes/3"


def test_peertube_attributed_to_array_takes_the_person() -> None:
    parsed = parse_note(
        note(
            type="Video",
            attributedTo=[
                {"type": "Group", "id": "https://a.example/video-channels/chan"},
                {"type": "Person", "id": "https://a.example/accounts/alice"},
            ],
        )
    )
    assert parsed.attributed_to == "https://a.example/accounts/alice"


def test_attributed_to_as_array_of_strings_takes_the_first() -> None:
    parsed = parse_note(note(attributedTo=["javascript:x", "https://a.example/users/bob", AUTHOR]))
    assert parsed.attributed_to == "https://a.example/users/bob"


def test_a_note_without_author_or_id_is_refused() -> None:
    with pytest.raises(ParseError, match="attributedTo"):
        parse_note(note(attributedTo=None))
    with pytest.raises(ParseError, match="id"):
        parse_note(note(id="javascript:alert(1)"))
    with pytest.raises(ParseError, match="id"):
        parse_note(note(id=None))
    with pytest.raises(ParseError, match="JSON object"):
        parse_note(["not", "an", "object"])


def test_url_on_a_foreign_host_is_dropped() -> None:
    assert parse_note(note(url="https://a.example/@alice/1")).url == "https://a.example/@alice/1"
    assert parse_note(note(url="https://phishing.example/@alice/1")).url is None
    assert parse_note(note(url="https://a.example.phishing.example/x")).url is None
    assert parse_note(note(url="https://a.example@phishing.example/x")).url is None
    assert parse_note(note(url="javascript:alert(1)")).url is None
    assert parse_note(note(url="data:text/html,hi")).url is None


def test_url_as_link_list_prefers_the_html_page() -> None:
    parsed = parse_note(
        note(
            url=[
                {"type": "Link", "mediaType": "video/mp4", "href": "https://a.example/v.mp4"},
                {"type": "Link", "mediaType": "text/html", "href": "https://a.example/watch/1"},
            ]
        )
    )
    assert parsed.url == "https://a.example/watch/1"


def test_content_over_the_limit_is_refused() -> None:
    assert parse_note(note(content="x" * MAX_CONTENT)).content == "x" * MAX_CONTENT
    with pytest.raises(ParseError, match="longer than"):
        parse_note(note(content="x" * (MAX_CONTENT + 1)))
    long_map = note(contentMap={"en": "x" * (MAX_CONTENT + 1)})
    del long_map["content"]
    with pytest.raises(ParseError, match="longer than"):
        parse_note(long_map)


def test_tags_of_each_kind() -> None:
    parsed = parse_note(
        note(
            tag=[
                {"type": "Mention", "href": "https://b.example/users/bob", "name": "@bob@b.example"},
                {"type": "Hashtag", "href": "https://a.example/tags/cats", "name": "#cats"},
                {"type": "Hashtag", "href": "/tags/relative", "name": "relative"},
                {
                    "type": "Emoji",
                    "name": ":blobcat:",
                    "updated": "2024-01-01T00:00:00Z",
                    "icon": {
                        "type": "Image",
                        "mediaType": "image/png",
                        "url": "https://a.example/e/blobcat.png",
                    },
                },
                {
                    "type": "Emoji",
                    "name": ':x" onmouseover="alert(1):',
                    "icon": {"url": "https://a.example/e.png"},
                },
                {"type": "Emoji", "name": ":evil:", "icon": {"url": "javascript:alert(1)"}},
                {"type": "Mention", "href": "javascript:alert(1)"},
                {"type": "Unknown"},
                "https://a.example/not-a-tag-object",
            ]
        )
    )
    assert [(m.href, m.name) for m in parsed.mentions] == [("https://b.example/users/bob", "@bob@b.example")]
    assert [(h.name, h.href) for h in parsed.hashtags] == [
        ("cats", "https://a.example/tags/cats"),
        ("relative", None),
    ]
    assert [(e.shortcode, e.icon_url) for e in parsed.emojis] == [
        ("blobcat", "https://a.example/e/blobcat.png")
    ]
    assert parsed.emojis[0].updated is not None


def test_a_single_tag_object_is_a_list_of_one() -> None:
    parsed = parse_note(
        note(tag={"type": "Emoji", "name": ":a_b:", "icon": {"url": "https://a.example/a.png"}})
    )
    assert [e.shortcode for e in parsed.emojis] == ["a_b"]


def test_ten_thousand_tags_are_capped() -> None:
    tags = [{"type": "Mention", "href": f"https://b.example/users/{n}"} for n in range(10_000)]
    tags += [{"type": "Hashtag", "name": f"t{n}"} for n in range(10_000)]
    parsed = parse_note(note(tag=tags, to=[f"https://b.example/users/{n}" for n in range(10_000)]))
    assert len(parsed.mentions) == MAX_PER_KIND
    assert parsed.hashtags == ()  # only the first entries are looked at
    assert len(parsed.to) == 500


def test_attachments_tolerate_missing_types_and_keep_their_metadata() -> None:
    parsed = parse_note(
        note(
            attachment=[
                {
                    "type": "Document",
                    "mediaType": "image/jpeg",
                    "url": "https://cdn.example/a.jpg",
                    "name": "a cat",
                    "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                    "focalPoint": [0.5, -0.25],
                    "width": 640,
                    "height": 480,
                },
                {
                    "mediaType": "image/png",
                    "url": "https://cdn.example/b.png",
                    "width": -3,
                    "focalPoint": [9, 0],
                },
                {"type": "Link", "href": "https://news.example/story", "mediaType": "text/html"},
                {"type": "Document", "url": "javascript:alert(1)"},
                {
                    "type": "Document",
                    "url": [{"href": "https://cdn.example/c.mp4", "mediaType": "video/mp4"}],
                },
                None,
                "https://cdn.example/d.gif",
            ]
        )
    )
    first, second, link, nested, bare = parsed.attachments
    assert (first.type, first.media_type, first.description) == ("Document", "image/jpeg", "a cat")
    assert (first.width, first.height, first.focal_point) == (640, 480, (0.5, -0.25))
    assert first.blurhash is not None
    assert (second.type, second.url, second.width, second.focal_point) == (
        None,
        "https://cdn.example/b.png",
        None,
        None,
    )
    assert (link.type, link.url) == ("Link", "https://news.example/story")
    assert nested.url == "https://cdn.example/c.mp4"
    assert bare.url == "https://cdn.example/d.gif"


def test_attachments_are_capped() -> None:
    media = [{"type": "Document", "url": f"https://cdn.example/{n}.png"} for n in range(1_000)]
    assert len(parse_note(note(attachment=media)).attachments) == MAX_ATTACHMENTS


def test_a_poll() -> None:
    parsed = parse_note(
        note(
            type="Question",
            endTime="2024-01-03T00:00:00Z",
            votersCount=7,
            anyOf=[
                {"type": "Note", "name": "yes", "replies": {"type": "Collection", "totalItems": 5}},
                {"type": "Note", "name": "no", "replies": {"totalItems": "many"}},
                {"type": "Note"},
            ],
        )
    )
    assert parsed.poll is not None
    assert [(o.name, o.votes) for o in parsed.poll.options] == [("yes", 5), ("no", None)]
    assert parsed.poll.multiple is True
    assert parsed.poll.voters_count == 7
    assert parsed.poll.end_time is not None
    assert parsed.poll.is_closed is False


def test_an_empty_any_of_beside_one_of_is_a_single_choice_poll() -> None:
    parsed = parse_note(note(type="Question", anyOf=[], oneOf=[{"name": "a"}], closed="2024-01-01T00:00:00Z"))
    assert parsed.poll is not None
    assert parsed.poll.multiple is False
    assert parsed.poll.is_closed is True


def test_poll_options_are_capped() -> None:
    options = [{"name": f"option {n}"} for n in range(10_000)]
    parsed = parse_note(note(type="Question", oneOf=options))
    assert parsed.poll is not None
    assert len(parsed.poll.options) == MAX_POLL_OPTIONS


def test_tombstones_and_emoji_objects() -> None:
    tombstone = parse_tombstone({"id": NOTE_ID, "type": "Tombstone", "formerType": "Note"})
    assert (tombstone.id, tombstone.former_type) == (NOTE_ID, "Note")
    with pytest.raises(ParseError):
        parse_tombstone({"type": "Tombstone"})
    emoji = parse_emoji(
        {
            "id": "https://a.example/emojis/1",
            "type": "Emoji",
            "name": ":xx:",
            "icon": {"url": "https://a.example/x.png"},
        }
    )
    assert (emoji.shortcode, emoji.id) == ("xx", "https://a.example/emojis/1")
    with pytest.raises(ParseError):  # Mastodon's shortcodes have two characters at least
        parse_emoji(
            {
                "id": "https://a.example/emojis/1",
                "type": "Emoji",
                "name": ":x:",
                "icon": "https://a.example/x.png",
            }
        )
    with pytest.raises(ParseError):
        parse_emoji(
            {"id": "https://a.example/emojis/1", "type": "Emoji", "name": ":x:", "icon": "data:image/png,"}
        )


def test_content_without_nul_characters() -> None:
    assert parse_note(note(content="<p>a\x00b</p>")).content == "<p>ab</p>"
