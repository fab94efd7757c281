"""Every captured document (../shared/fixtures/activitypub, 196 files from 36 server programs) either
parses or is refused with `ParseError` for the reason this file expects; no other exception, ever.

Each file goes to the parser its shape asks for (`shape_of`); an activity's embedded object is
parsed too. The files that are refused, and why, are listed in `REFUSED`: a file that starts or
stops parsing changes this table, so such a change is always a decision, never an accident.

A second test feeds each document with every top-level property (and every property of an
embedded object) replaced by values of the wrong JSON type: still parsed or `ParseError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.conftest import unavailable

from kinfolk.federation.parse.activity import ParsedActivity, parse_activity
from kinfolk.federation.parse.actor import parse_actor
from kinfolk.federation.parse.collection import parse_collection
from kinfolk.federation.parse.discovery import parse_nodeinfo, parse_nodeinfo_links, parse_webfinger
from kinfolk.federation.parse.object import ParsedNote, parse_emoji, parse_note, parse_tombstone
from kinfolk.federation.parse.shape import Shape, shape_of
from kinfolk.federation.parse.values import ParseError
from kinfolk.kernel.multikey import ed25519_from_multibase

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "activitypub"
EXPECTED_FILES = 196

PARSERS: dict[Shape, Callable[[object], object]] = {
    Shape.ACTOR: parse_actor,
    Shape.NOTE: parse_note,
    Shape.ACTIVITY: parse_activity,
    Shape.COLLECTION: parse_collection,
    Shape.TOMBSTONE: parse_tombstone,
    Shape.EMOJI: parse_emoji,
    Shape.WEBFINGER: parse_webfinger,
    Shape.NODEINFO: parse_nodeinfo,
    Shape.NODEINFO_LINKS: parse_nodeinfo_links,
}

NOT_ACTIVITY_STREAMS = {
    "gotosocial/jsonld-context-ns.json": "a JSON-LD context document, not an object",
}

# file -> the ParseError reason expected for the document itself.
REFUSED = {
    # Mbin's fixtures had their ids replaced by "SCRUBBED_ID" by the project that captured them.
    "mbin/add-pinned-post.json": "the activity has no http(s) id",
    "mbin/announce-create-comment.json": "the activity has no http(s) id",
    "mbin/delete-entry-by-moderator.json": "the activity has no http(s) id",
    "mbin/lock-post.json": "the activity has no http(s) id",
    "mbin/create-entry-page.json": "the activity has no http(s) id",
    "mbin/create-entry-with-url-and-image.json": "the activity has no http(s) id",
    "mbin/create-microblog-post.json": "the activity has no http(s) id",
    # An OStatus-only account: nothing to follow over ActivityPub.
    "gnusocial/webfinger.json": "the WebFinger document has no ActivityPub self link",
}

# file -> the ParseError reason expected for the activity's embedded object (parsed activities only).
EMBEDDED_REFUSED: dict[str, str] = {}


def _files() -> list[str]:
    if not FIXTURES.is_dir():
        return []
    return sorted(str(path.relative_to(FIXTURES)) for path in FIXTURES.rglob("*.json"))


FILES = _files()


def _load(name: str) -> Any:
    return orjson.loads((FIXTURES / name).read_bytes())


def _require_fixtures() -> None:
    if not FIXTURES.is_dir():
        # The corpus lives beside the repository (../shared); CI has it, so there this fails.
        unavailable("the ActivityPub fixture corpus", f"no directory at {FIXTURES}")


def _outcome(doc: object) -> tuple[Shape, object | None, str | None]:
    shape = shape_of(doc)
    if shape is Shape.OTHER:
        return shape, None, None
    try:
        return shape, PARSERS[shape](doc), None
    except ParseError as error:
        return shape, None, error.reason


def test_the_corpus_is_all_there() -> None:
    _require_fixtures()
    assert len(FILES) == EXPECTED_FILES
    for name in [*REFUSED, *NOT_ACTIVITY_STREAMS, *EMBEDDED_REFUSED]:
        assert name in FILES, f"{name} is in a table but not in the corpus"


@pytest.mark.parametrize("name", FILES or ["(corpus missing)"])
def test_each_document_parses_or_is_refused_as_expected(name: str) -> None:
    _require_fixtures()
    doc = _load(name)
    shape, parsed, reason = _outcome(doc)
    if name in NOT_ACTIVITY_STREAMS:
        assert shape is Shape.OTHER
        return
    assert shape is not Shape.OTHER, f"{name}: no parser recognises this document"
    assert reason == REFUSED.get(name), f"{name} ({shape}): {reason}"
    if isinstance(parsed, ParsedActivity) and isinstance(parsed.object, Mapping):
        inner_shape, _, inner_reason = _outcome(parsed.object)
        assert inner_reason == EMBEDDED_REFUSED.get(name), f"{name} object ({inner_shape}): {inner_reason}"


def _note_of(name: str) -> ParsedNote:
    doc = _load(name)
    if isinstance(doc.get("object"), Mapping):
        doc = doc["object"]
    return parse_note(doc)


def test_what_real_posts_say() -> None:
    _require_fixtures()
    assert _note_of("fedibird/note-quote-misskey-compat.json").quote == "https://misskey.io/notes/8vsn2izjwh"
    assert _note_of("misskey/note-quote.json").quote == "https://misskey.io/notes/8vs6wxufd0"
    assert (
        _note_of("akkoma/note-quote.json").quote == "https://mas.to/users/bascule/statuses/112793660647233531"
    )
    only_map = _note_of("mastodon/create-note-contentmap-without-content.json")
    assert only_map.language == "en"
    assert only_map.content and only_map.content.startswith("<p>")
    video = _note_of("peertube/video.json")
    assert video.attributed_to == "https://tilvids.com/accounts/thelinuxexperiment"
    assert video.url == "https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1"
    # Converted as Mastodon does: its title and link as HTML (not its Markdown description).
    assert video.media_type is None
    assert video.content is not None and video.content.startswith("<p><strong>Mesa, Wayland &amp; X.org")
    poll = _note_of("mastodon/create-question-poll.json").poll
    assert poll is not None and not poll.multiple
    assert [option.votes for option in poll.options][:3] == [0, 1, 0]
    closed = _note_of("pleroma/question-poll-closed.json").poll
    assert closed is not None and closed.is_closed
    assert [(option.name, option.votes) for option in closed.options] == [("yes", 4), ("no", 0)]
    assert len(_note_of("kroeg/create-note-emoji-not-array.json").emojis) == 1
    # A link post's url is the linked page, on another host: dropped (checklist 30).
    assert _note_of("lotide/page-to-string.json").url is None
    (image,) = _note_of("mastodon/note-with-image-blurhash-focalpoint.json").attachments
    assert (image.width, image.height, image.focal_point) == (1500, 1095, (0.0, 0.0))
    assert image.blurhash == "USQv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc"


def test_what_real_actors_say() -> None:
    _require_fixtures()
    mastodon = parse_actor(_load("mastodon/person.json"))
    assert mastodon.shared_inbox == "https://masto.qa.urbanwildlife.biz/inbox"
    assert mastodon.featured_tags == "https://masto.qa.urbanwildlife.biz/users/mastodon/collections/tags"
    assert mastodon.public_key_owner == mastodon.id
    assert parse_actor(_load("mastodon/service-actor-bot.json")).bot
    assert len(parse_actor(_load("akkoma/person-with-eight-fields.json")).fields) == 8
    # "example@elsewhere.com" is not a URL: left out, the actor kept.
    assert parse_actor(_load("microblogpub/person-invalid-alsoknownas.json")).also_known_as == ()
    assert parse_actor(_load("takahe/person-attachment-without-type.json")).fields == ()


WRONG_VALUES: list[object] = [None, 0, -1, 1.5, True, "", "javascript:alert(1)", [], [None, 3], {}, {"id": 7}]


def _mutations(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The document with each property (and each property of its embedded object) replaced."""
    found: list[dict[str, Any]] = []
    for key in doc:
        for value in WRONG_VALUES:
            found.append({**doc, key: value})
    inner = doc.get("object")
    if isinstance(inner, Mapping):
        for key in inner:
            for value in WRONG_VALUES:
                found.append({**doc, "object": {**inner, key: value}})
    return found


@pytest.mark.parametrize("name", FILES or ["(corpus missing)"])
def test_wrong_types_anywhere_give_a_parse_error_at_worst(name: str) -> None:
    _require_fixtures()
    doc = _load(name)
    if not isinstance(doc, Mapping):
        return
    own_parser = PARSERS.get(shape_of(doc))
    for mutated in _mutations(doc):
        _outcome(mutated)  # the mutation may change the shape: its own parser
        if own_parser is not None:
            with contextlib.suppress(ParseError):
                own_parser(mutated)
        inner = mutated.get("object")
        if isinstance(inner, Mapping):
            _outcome(inner)


@pytest.mark.parametrize(
    "name",
    ["mitra/person-multikey-identity-proofs.json", "mitra/person-wizard-casa.json"],
)
def test_fep_521a_ed25519_keys_of_real_actors(name: str) -> None:
    """Mitra lists an RSA Multikey first and the Ed25519 one second: the Ed25519 key is found."""
    _require_fixtures()
    document = _load(name)
    parsed = parse_actor(document)
    ed25519_keys = [
        entry
        for entry in document["assertionMethod"]
        if entry["publicKeyMultibase"].startswith("z6Mk") and entry["controller"] == document["id"]
    ]
    assert parsed.ed25519_key_id == ed25519_keys[0]["id"]
    assert parsed.ed25519_public_key == ed25519_keys[0]["publicKeyMultibase"]
    assert ed25519_from_multibase(parsed.ed25519_public_key) is not None
