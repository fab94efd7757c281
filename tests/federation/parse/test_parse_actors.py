"""Actors: what is kept, and the origin rules (checklist 31): a foreign inbox refuses the actor, a
foreign outbox, followers, following, featured or shared inbox is dropped."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kinfolk.federation.parse.actor import parse_actor
from kinfolk.federation.parse.values import ParseError

ACTOR_ID = "https://a.example/users/alice"
PEM = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"


def actor(**fields: Any) -> dict[str, Any]:
    return {
        "id": ACTOR_ID,
        "type": "Person",
        "preferredUsername": "alice",
        "inbox": f"{ACTOR_ID}/inbox",
        "outbox": f"{ACTOR_ID}/outbox",
        "followers": f"{ACTOR_ID}/followers",
        "following": f"{ACTOR_ID}/following",
        "featured": f"{ACTOR_ID}/collections/featured",
        "featuredTags": f"{ACTOR_ID}/collections/tags",
        "endpoints": {"sharedInbox": "https://a.example/inbox"},
        "publicKey": {"id": f"{ACTOR_ID}#main-key", "owner": ACTOR_ID, "publicKeyPem": PEM},
        **fields,
    }


def test_a_full_actor() -> None:
    parsed = parse_actor(
        actor(
            name="Alice",
            summary="<p>hi</p>",
            url="https://a.example/@alice",
            icon={"type": "Image", "url": "https://a.example/avatar.png"},
            image=[{"type": "Image", "url": "https://a.example/header.png"}],
            manuallyApprovesFollowers=True,
            discoverable=True,
            indexable=False,
            memorial=True,
            published="2020-01-01T00:00:00Z",
            alsoKnownAs=["https://b.example/users/alice", "acct:alice@b.example"],
            movedTo="https://c.example/users/alice",
            attachment=[
                {"type": "PropertyValue", "name": "Site", "value": '<a href="https://alice.example">x</a>'},
                {"type": "IdentityProof", "name": "x", "signatureValue": "y"},
                {"name": "no type", "value": "v"},
            ],
            tag=[{"type": "Emoji", "name": ":wave:", "icon": {"url": "https://a.example/wave.png"}}],
        )
    )
    assert (parsed.id, parsed.type, parsed.preferred_username, parsed.name) == (
        ACTOR_ID,
        "Person",
        "alice",
        "Alice",
    )
    assert parsed.summary == "<p>hi</p>"
    assert parsed.inbox == f"{ACTOR_ID}/inbox"
    assert parsed.outbox == f"{ACTOR_ID}/outbox"
    assert parsed.followers == f"{ACTOR_ID}/followers"
    assert parsed.following == f"{ACTOR_ID}/following"
    assert parsed.featured == f"{ACTOR_ID}/collections/featured"
    assert parsed.featured_tags == f"{ACTOR_ID}/collections/tags"
    assert parsed.shared_inbox == "https://a.example/inbox"
    assert (parsed.public_key_id, parsed.public_key_owner, parsed.public_key_pem) == (
        f"{ACTOR_ID}#main-key",
        ACTOR_ID,
        PEM,
    )
    assert parsed.icon_url == "https://a.example/avatar.png"
    assert parsed.image_url == "https://a.example/header.png"
    assert [(f.name, f.value) for f in parsed.fields] == [("Site", '<a href="https://alice.example">x</a>')]
    assert [e.shortcode for e in parsed.emojis] == ["wave"]
    assert parsed.manually_approves_followers is True
    assert (parsed.discoverable, parsed.indexable, parsed.memorial, parsed.suspended) == (
        True,
        False,
        True,
        False,
    )
    assert parsed.also_known_as == ("https://b.example/users/alice",)
    assert parsed.moved_to == "https://c.example/users/alice"
    assert parsed.bot is False


@pytest.mark.parametrize("kind", ["Service", "Application"])
def test_services_and_applications_are_bots(kind: str) -> None:
    parsed = parse_actor(actor(type=kind))
    assert (parsed.type, parsed.bot) == (kind, True)


@pytest.mark.parametrize("kind", ["Group", "Organization", ["Person", "foaf:Agent"]])
def test_other_actor_types(kind: object) -> None:
    assert parse_actor(actor(type=kind)).bot is False


def test_an_actor_with_a_foreign_inbox_is_refused() -> None:
    with pytest.raises(ParseError, match="inbox is on another origin"):
        parse_actor(actor(inbox="https://attacker.example/inbox"))
    with pytest.raises(ParseError, match=re.escape("no http(s) inbox")):  # userinfo: not a URL at all
        parse_actor(actor(inbox="https://a.example@attacker.example/inbox"))
    with pytest.raises(ParseError, match="inbox is on another origin"):
        parse_actor(actor(inbox="http://a.example/users/alice/inbox"))


def test_foreign_collections_are_dropped() -> None:
    parsed = parse_actor(
        actor(
            outbox="https://attacker.example/outbox",
            followers="https://attacker.example/followers",
            following="https://attacker.example/following",
            featured="https://attacker.example/featured",
            featuredTags="https://attacker.example/tags",
            endpoints={"sharedInbox": "https://attacker.example/inbox"},
        )
    )
    assert (parsed.outbox, parsed.followers, parsed.following) == (None, None, None)
    assert (parsed.featured, parsed.featured_tags, parsed.shared_inbox) == (None, None, None)


def test_hosts_are_compared_after_normalisation() -> None:
    parsed = parse_actor(
        actor(id="https://A.Example./users/alice", followers="https://a.example/users/alice/f")
    )
    assert parsed.id == ACTOR_ID
    assert parsed.followers == "https://a.example/users/alice/f"


def test_unsafe_urls_are_dropped() -> None:
    parsed = parse_actor(
        actor(
            url="javascript:alert(1)",
            icon={"url": "data:image/png;base64,AAAA"},
            image="file:///etc/passwd",
            movedTo="javascript:alert(1)",
        )
    )
    assert (parsed.url, parsed.icon_url, parsed.image_url, parsed.moved_to) == (None, None, None, None)
    with pytest.raises(ParseError, match="inbox"):
        parse_actor(actor(inbox="javascript:alert(1)"))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "no http(s) id"),
        ({"id": "javascript:alert(1)"}, "no http(s) id"),
        ({"type": "Note"}, "not an actor type"),
        ({"preferredUsername": None}, "preferredUsername"),
        ({"preferredUsername": "   "}, "preferredUsername"),
        ({"preferredUsername": ["alice"]}, "preferredUsername"),
        ({"inbox": None}, "no http(s) inbox"),
    ],
)
def test_unusable_actors_are_refused(change: dict[str, object], reason: str) -> None:
    with pytest.raises(ParseError, match=re.escape(reason)):
        parse_actor(actor(**change))


def test_the_key_owned_by_the_actor_is_chosen() -> None:
    keys = [
        {"id": "https://b.example/k", "owner": "https://b.example/users/x", "publicKeyPem": PEM},
        {"id": f"{ACTOR_ID}#k2", "owner": ACTOR_ID, "publicKeyPem": PEM},
    ]
    assert parse_actor(actor(publicKey=keys)).public_key_id == f"{ACTOR_ID}#k2"
    assert (
        parse_actor(actor(publicKey={"id": f"{ACTOR_ID}#k", "publicKeyPem": "not a pem"})).public_key_pem
        is None
    )
    assert parse_actor(actor(publicKey=None)).public_key_id is None


def test_long_fields_are_cut_and_field_lists_capped() -> None:
    fields = [{"type": "PropertyValue", "name": f"n{n}", "value": "v"} for n in range(10_000)]
    parsed = parse_actor(actor(name="x" * 100_000, attachment=fields))
    assert parsed.name is not None and len(parsed.name) == 2_000
    assert len(parsed.fields) == 50


@pytest.mark.parametrize("username", ["alice@evil.example", "a b", "../x", "a:b", "", "\x00"])
def test_usernames_that_would_make_an_address_ambiguous_are_refused(username: str) -> None:
    with pytest.raises(ParseError, match="preferredUsername"):
        parse_actor(actor(preferredUsername=username))


@pytest.mark.parametrize("username", ["alice", "Bernie2020", "jk.nipponalba.scot", "名前", "a-b_c"])
def test_usernames_of_any_script_are_kept(username: str) -> None:
    assert parse_actor(actor(preferredUsername=username)).preferred_username == username


ED25519_MULTIKEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"


def test_fep_521a_ed25519_key_only_when_the_actor_controls_it_on_its_origin() -> None:
    def key(**fields: Any) -> dict[str, Any]:
        return {
            "id": f"{ACTOR_ID}#ed25519-key",
            "type": "Multikey",
            "controller": ACTOR_ID,
            "publicKeyMultibase": ED25519_MULTIKEY,
            **fields,
        }

    parsed = parse_actor(actor(assertionMethod=[key()]))
    assert (parsed.ed25519_key_id, parsed.ed25519_public_key) == (f"{ACTOR_ID}#ed25519-key", ED25519_MULTIKEY)
    for refused in (
        key(controller="https://a.example/users/mallory"),  # someone else's key
        key(id="https://b.example/keys/1"),  # on another origin
        key(publicKeyMultibase="z" + ED25519_MULTIKEY[2:]),  # not an Ed25519 Multikey
        key(type="JsonWebKey"),
    ):
        found = parse_actor(actor(assertionMethod=[refused]))
        assert (found.ed25519_key_id, found.ed25519_public_key) == (None, None), refused
    # A single object, not a list, is read too.
    assert parse_actor(actor(assertionMethod=key())).ed25519_key_id == f"{ACTOR_ID}#ed25519-key"
