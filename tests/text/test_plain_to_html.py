"""Plain text to Mastodon-style HTML: paragraphs, escaping, shortened links, tags and mentions."""

from __future__ import annotations

import random
from typing import Any

import pytest

from kinfolk.text.plain_to_html import (
    MentionLink,
    extract_hashtags,
    extract_mentions,
    link_url,
    plain_to_html,
)

REL = 'target="_blank" rel="nofollow noopener noreferrer" translate="no"'


def tags(name: str) -> str:
    return f"https://k.test/tags/{name}"


def test_blank_text_is_empty() -> None:
    assert plain_to_html("") == ""
    assert plain_to_html("  \n\n ") == ""


def test_paragraphs_and_line_breaks() -> None:
    assert plain_to_html("one\ntwo\n\nthree") == "<p>one<br />two</p><p>three</p>"
    assert plain_to_html("a\r\nb\r\n\r\n\r\nc\rd") == "<p>a<br />b</p><p>c<br />d</p>"


def test_everything_else_is_escaped() -> None:
    html = plain_to_html("<script>alert('x')</script> & \"q\"")
    assert html == "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;</p>"


def test_short_url_is_linked_with_mastodon_spans() -> None:
    html = plain_to_html("see https://example.com/page.")
    assert html == (
        f'<p>see <a href="https://example.com/page" {REL}><span class="invisible">https://</span>'
        '<span class="">example.com/page</span><span class="invisible"></span></a>.</p>'
    )


def test_www_is_hidden_and_long_urls_get_an_ellipsis() -> None:
    url = "https://www.example.com/a/rather/long/path/to/something?x=1"
    html = plain_to_html(url, multiline=False)
    assert '<span class="invisible">https://www.</span>' in html
    rest = url.removeprefix("https://www.")
    assert f'<span class="ellipsis">{rest[:30]}</span>' in html
    assert f'<span class="invisible">{rest[30:]}</span>' in html


def test_url_punctuation_and_parentheses() -> None:
    html = plain_to_html("(https://en.wikipedia.org/wiki/Foo_(bar)), https://a.example/x?!", multiline=False)
    assert 'href="https://en.wikipedia.org/wiki/Foo_(bar)"' in html
    assert 'href="https://a.example/x"' in html
    assert html.endswith("</a>?!")


def test_things_that_are_not_urls_stay_text() -> None:
    assert plain_to_html("javascript:alert(1) http:// foohttps://x.example", multiline=False) == (
        "javascript:alert(1) http:// foohttps://x.example"
    )


def test_other_link_schemes() -> None:
    html = plain_to_html("xmpp:me@chat.example gemini://g.example/", multiline=False)
    assert 'href="xmpp:me@chat.example"' in html
    assert '<span class="invisible">xmpp:</span>' in html
    assert 'href="gemini://g.example/"' in html


def test_bidi_controls_end_a_link() -> None:
    html = plain_to_html("https://good.example\u202eelpmaxe.live", multiline=False)
    assert 'href="https://good.example"' in html


def test_userinfo_is_never_hidden_behind_the_ellipsis() -> None:
    url = "https://good.example.com.with.a.very.long.userinfo@evil.example/"
    html = link_url(url)
    assert f'<span class="">{url.removeprefix("https://")}</span>' in html
    assert 'class="ellipsis"' not in html


def test_rel_me_for_profile_fields() -> None:
    assert 'rel="nofollow noopener noreferrer me"' in plain_to_html("https://x.example", rel_me=True)


def test_hashtags_link_only_with_a_tag_url() -> None:
    assert plain_to_html("#Cats", multiline=False) == "#Cats"
    assert plain_to_html("I like #Cats and #123 but not x#y", multiline=False, tag_url=tags) == (
        'I like <a href="https://k.test/tags/Cats" class="mention hashtag" rel="tag">#<span>Cats</span></a>'
        " and #123 but not x#y"
    )


def test_mentions_link_only_when_resolved() -> None:
    bob = MentionLink("https://k.test/@bob", "bob", "bob")
    carol = MentionLink("https://r.example/@carol", "carol", "carol@r.example")
    mentions = {("bob", None): bob, ("carol", "r.example"): carol}
    html = plain_to_html(
        "@bob @BOB@k.test @carol@r.example @nobody", multiline=False, mentions=mentions, local_domain="k.test"
    )
    card = (
        '<span class="h-card" translate="no"><a href="{}" class="u-url mention">@<span>{}</span></a></span>'
    )
    assert html == " ".join(
        [
            card.format("https://k.test/@bob", "bob"),
            card.format("https://k.test/@bob", "bob"),
            card.format("https://r.example/@carol", "carol"),
            "@nobody",
        ]
    )
    with_domains = plain_to_html("@carol@r.example", mentions=mentions, with_domains=True, multiline=False)
    assert "@<span>carol@r.example</span>" in with_domains


def test_same_username_on_two_servers_shows_the_domain() -> None:
    mentions = {
        ("ann", None): MentionLink("https://k.test/@ann", "ann", "ann"),
        ("ann", "r.example"): MentionLink("https://r.example/@ann", "ann", "ann@r.example"),
    }
    html = plain_to_html("@ann@r.example", mentions=mentions, multiline=False)
    assert "@<span>ann@r.example</span>" in html


def test_mentions_inside_urls_do_not_count() -> None:
    assert extract_mentions("https://x.example/@bob and @carol@R.example and @Dan", local_domain="k") == [
        ("carol", "r.example"),
        ("dan", None),
    ]
    assert extract_mentions("mail me@x.example") == []


def test_extract_hashtags_dedupes_case_insensitively() -> None:
    assert extract_hashtags("#Foo #foo #bar https://x.example/#frag") == ["Foo", "bar"]


def _reference_entities(text: str) -> list[Any]:
    """The extractor as first written: every match checked against every URL span."""
    from kinfolk.text import plain_to_html as module

    def trim(url: str) -> str:
        while url:
            last = url[-1]
            if last.isalnum() or last in module._URL_END_OK:
                break
            if last == ")" and url.count("(") >= url.count(")"):
                break
            url = url[:-1]
        return url

    found: list[Any] = []
    taken: list[tuple[int, int]] = []
    for m in module.URL_RE.finditer(text):
        url = trim(m.group(1))
        if url and module._valid_url(url):
            found.append(module._Entity(m.start(1), m.start(1) + len(url), "url", url))
            taken.append((m.start(1), m.start(1) + len(url)))

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for m in module.MENTION_RE.finditer(text):
        if free(m.start(), m.end()):
            found.append(module._Entity(m.start(), m.end(), "mention", m.group(1), m.group(2)))
    for m in module.HASHTAG_RE.finditer(text):
        name = m.group(1).rstrip(module._TAG_SEPARATORS)
        end = m.start(1) + len(name)
        if free(m.start(), end):
            found.append(module._Entity(m.start(), end, "hashtag", name))
    found.sort(key=lambda e: e.start)
    result: list[Any] = []
    last_end = 0
    for entity in found:
        if entity.start >= last_end:
            result.append(entity)
            last_end = entity.end
    return result


def test_linear_extraction_and_rendering_match_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    from kinfolk.text import plain_to_html as module

    pieces = [
        "@alice", "@Bob@k.test", "@bob@other.example", "#tag", "#日本", "https://e.example/a_(b)",
        "(https://e.example/x)", "https://e.example/path?q=1.", "xmpp:a@b.c", "magnet:?xt=1", "e@mail",
        "x=@y", "word", ".", ",", "!", "((", "))", "\n", "\n\n", "<b>", "&", "'",
    ]  # fmt: skip
    mentions = {
        ("alice", None): MentionLink("https://k.test/@alice", "alice", "alice"),
        ("bob", "k.test"): MentionLink("https://k.test/@bob", "bob", "bob"),
        ("bob", "other.example"): MentionLink("https://o/@bob", "bob", "bob@other.example"),
    }
    rng = random.Random(4)
    for _ in range(1500):
        text = "".join(
            rng.choice(pieces) + rng.choice([" ", "", " ", "\n"]) for _ in range(rng.randint(1, 20))
        )
        assert module._entities(text) == _reference_entities(text), text
        html = plain_to_html(text, tag_url=tags, mentions=mentions, local_domain="k.test")
        with monkeypatch.context() as patched:
            patched.setattr(module, "_entities", _reference_entities)
            assert plain_to_html(text, tag_url=tags, mentions=mentions, local_domain="k.test") == html
