"""Status text: entities, Mastodon's length rule, and the linear extractor checked against the
straightforward (quadratic) one it replaced, on a corpus of realistic texts."""

from __future__ import annotations

import random
import re

from kinfolk.text import compose
from kinfolk.text.compose import (
    MAX_URL_LENGTH,
    Entity,
    cannot_fit,
    count_characters,
    exceeds_limit,
    extract_entities,
    extract_hashtags,
    extract_mentions,
    render_status_html,
)


def _reference_entities(text: str) -> list[Entity]:
    """The extractor as first written: every match checked against every span taken so far."""

    def trim(url: str) -> str:
        while url:
            last = url[-1]
            if last in ".,;:!?'\"*" or (last == ")" and url.count("(") < url.count(")")):
                url = url[:-1]
                continue
            break
        return url

    entities: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for match in compose._URL_RE.finditer(text):
        url = trim(match.group(0))
        if len(url) <= len("https://"):
            continue
        entities.append(Entity("url", match.start(), match.start() + len(url), url))
        taken.append((match.start(), match.start() + len(url)))

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for match in compose._MENTION_RE.finditer(text):
        if not free(match.start(), match.end()):
            continue
        username, domain = match.group(1), match.group(2)
        value = f"{username}@{domain}" if domain else username
        entities.append(
            Entity(
                "mention",
                match.start(),
                match.end(),
                value,
                username=username,
                domain=domain.lower() if domain else None,
            )
        )
        taken.append((match.start(), match.end()))
    for match in compose._HASHTAG_RE.finditer(text):
        if not free(match.start(), match.end()):
            continue
        entities.append(Entity("hashtag", match.start(), match.end(), match.group(1)))
        taken.append((match.start(), match.end()))
    entities.sort(key=lambda e: e.start)
    return entities


_PIECES = [
    "hello",
    "world",
    "Grüße",
    "日本語",
    "@alice",
    "@Bob_2",
    "@carol@example.com",
    "@dave@sub.example.org:8443",
    "@e.f-g",
    "@a.",
    "mail@example.com",
    "x=@y",
    "/@path",
    "#tag",
    "#Café",
    "#123",
    "#1a",
    "#a·b",
    "&#39;",
    "(#paren)",
    "https://example.com",
    "https://example.com/path?q=1&x=@user#frag",
    "http://www.example.org/a_(b)",
    "(https://example.com/x)",
    "https://example.com/#tag",
    "https://example.com/@user",
    "https://",
    "HTTPS://EXAMPLE.COM/UP",
    "https://t.co/abc.",
    "https://example.com/a,b;c!",
    "'quoted'",
    '"dq"',
    "<b>",
    "&amp;",
    ".",
    ",",
    "!",
    ":)",
    "\n",
    "\n\n",
]


def _corpus(count: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = [rng.choice(_PIECES) for _ in range(rng.randint(1, 25))]
        separators = [rng.choice([" ", " ", " ", "", "\n", ", "]) for _ in parts]
        texts.append("".join(p + s for p, s in zip(parts, separators, strict=True)))
    return texts


def test_linear_extractor_matches_the_reference_on_realistic_texts() -> None:
    for text in _corpus(3000):
        assert extract_entities(text) == _reference_entities(text), text


def test_mentions_tags_length_and_html_unchanged_on_realistic_texts(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def resolve(username: str, domain: str | None) -> tuple[str, str] | None:
        return (f"https://k.test/@{username}", username) if username.lower() != "bob_2" else None

    def tag_url(name: str) -> str:
        return f"https://k.test/tags/{name}"

    for text in _corpus(500, seed=5):
        reference = _reference_entities(text)
        mentions = list(
            dict.fromkeys((e.username.lower(), e.domain) for e in reference if e.kind == "mention")
        )
        assert extract_mentions(text) == mentions
        tags: dict[str, str] = {}
        for entity in reference:
            if entity.kind == "hashtag":
                tags.setdefault(compose.normalize_tag(entity.value), entity.value)
        assert extract_hashtags(text) == list(tags.values())
        expected_length = len(text)
        for entity in reference:
            if entity.kind == "url":
                expected_length += compose.URL_LENGTH - (entity.end - entity.start)
            elif entity.kind == "mention" and entity.domain:
                expected_length -= len(entity.domain) + 1
        assert count_characters(text) == expected_length
        html = render_status_html(text, resolve_mention=resolve, tag_url=tag_url)
        with monkeypatch.context() as patched:
            patched.setattr(compose, "extract_entities", _reference_entities)
            assert render_status_html(text, resolve_mention=resolve, tag_url=tag_url) == html


def test_rendered_html_for_a_typical_post() -> None:
    html = render_status_html(
        "hi @alice see https://example.com/some/long/path/to/a/page #Tag",
        resolve_mention=lambda u, d: ("https://k.test/@alice", "alice") if u == "alice" else None,
        tag_url=lambda n: f"https://k.test/tags/{n.lower()}",
    )
    assert html == (
        '<p>hi <span class="h-card" translate="no"><a href="https://k.test/@alice" class="u-url mention">'
        '@<span>alice</span></a></span> see <a href="https://example.com/some/long/path/to/a/page" '
        'target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">'
        'https://</span><span class="ellipsis">example.com/some/long/path/to/</span><span class="invisible">'
        'a/page</span></a> <a href="https://k.test/tags/tag" class="mention hashtag" rel="tag">#<span>Tag</span></a></p>'
    )


def test_url_counts_23_only_up_to_mastodons_limit() -> None:
    at_limit = "https://example.com/" + "a" * (MAX_URL_LENGTH - len("https://example.com/"))
    assert len(at_limit) == MAX_URL_LENGTH
    assert count_characters(at_limit) == 23
    assert count_characters("see " + at_limit) == 27
    too_long = at_limit + "b"
    assert count_characters(too_long) == len(too_long)
    assert [e.kind for e in extract_entities(too_long + " #tag")] == ["hashtag"]
    # Nothing inside an overlong URL is taken for a mention or a tag either.
    assert extract_entities(too_long + "/#frag/@user") == []


def test_mention_with_an_impossible_domain_counts_in_full() -> None:
    text = "@a@" + "x" * 300 + ".com"
    assert count_characters(text) == len(text)
    assert extract_mentions(text) == []
    assert count_characters("@a@example.com") == 2


def test_trailing_punctuation_and_brackets_are_trimmed_as_before() -> None:
    for url in ["https://x.y/a)))", "https://x.y/(a))", "https://x.y/a...!!", "https://x.y/a(b)c)."]:
        assert extract_entities(url) == _reference_entities(url)
    long_tail = "https://x.y/" + ")" * 50_000 + "." * 50_000
    assert extract_entities(long_tail) == [Entity("url", 0, len("https://x.y/"), "https://x.y/")]


def test_cannot_fit_is_a_true_bound() -> None:
    # The densest ways to write little-counting text stay within the bound...
    urls = " ".join(["https://e.co/" + "a" * (MAX_URL_LENGTH - 13)] * 20)
    assert count_characters(urls) <= 500 and not cannot_fit(urls, 500)
    mentions = " ".join(["@a@" + "b" * 255 + ".com"] * 160)
    assert count_characters(mentions) <= 500 and not cannot_fit(mentions, 500)
    # ...and whatever the bound refuses counts over the limit.
    rng = random.Random(3)
    for _ in range(200):
        text = " ".join(
            rng.choice(["https://e.co/" + "a" * rng.randint(1, MAX_URL_LENGTH), "@u@" + "d" * 250, "w"])
            for _ in range(rng.randint(1, 60))
        )
        if cannot_fit(text, 500):
            assert count_characters(text) > 500
    assert cannot_fit("x" * (500 * MAX_URL_LENGTH // 23 + 1), 500)


def test_patterns_have_no_catastrophic_backtracking() -> None:
    # Shapes that make careless patterns backtrack: each must still be one linear scan.
    for text in [
        "#" + "1" * 200_000,
        "@" + "a." * 100_000,
        "@a@" + "b-" * 100_000,
        "@a@" + "b" * 200_000 + ":",
        "https://" + "a" * 200_000,
        "@" + "a" * 100_000 + "-" * 100_000,
    ]:
        assert isinstance(extract_entities(text), list)
    assert re.compile("x")  # the module's patterns are compiled once, at import


def test_exceeds_limit_decides_as_the_full_count_does() -> None:
    texts = [
        *_corpus(1500, seed=9),
        "@a " * 200,
        "https://e.co/x " * 40,
        "@a@b.example " * 60,
        ("https://e.co/" + "a" * MAX_URL_LENGTH) + " x",
        "@a@" + "d" * 300 + " " + "x" * 200,
    ]
    for text in texts:
        count = count_characters(text)
        for limit in (0, 10, 50, 100, 500, count - 1, count, count + 1):
            if limit >= 0:
                assert exceeds_limit(text, limit) == (count > limit), (text, limit)


def test_exceeds_limit_stops_early_on_a_flood_of_mentions() -> None:
    import time

    flood = "@a " * 29_000  # just under the bound that refuses unread
    assert not cannot_fit(flood, 500)
    started = time.perf_counter()
    assert exceeds_limit(flood, 500)
    assert time.perf_counter() - started < 0.01
