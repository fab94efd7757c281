"""Mastodon's Relationship entity, and the small shapes that travel with relationship lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kinfolk.domain.relationships.service import Relationship
from kinfolk.kernel.clock import iso


def relationship_json(rel: Relationship) -> dict[str, Any]:
    return {
        "id": str(rel.account_id),
        "following": rel.following,
        "showing_reblogs": rel.showing_reblogs,
        "notifying": rel.notifying,
        "languages": rel.languages,
        "followed_by": rel.followed_by,
        "blocking": rel.blocking,
        "blocked_by": rel.blocked_by,
        "muting": rel.muting,
        "muting_notifications": rel.muting_notifications,
        "muting_expires_at": iso(rel.muting_expires_at),
        "requested": rel.requested,
        "requested_by": rel.requested_by,
        "domain_blocking": rel.domain_blocking,
        "endorsed": rel.endorsed,
        "note": rel.note,
    }


def relationships_json(rels: list[Relationship]) -> list[dict[str, Any]]:
    return [relationship_json(r) for r in rels]


def familiar_followers_json(account_id: int, accounts: list[dict[str, Any]]) -> dict[str, Any]:
    """FamiliarFollowers: a target's id and the rendered accounts that follow it."""
    return {"id": str(account_id), "accounts": accounts}


def muted_account_json(account: dict[str, Any], expires_at: datetime | None) -> dict[str, Any]:
    """An Account in `GET /api/v1/mutes`, which adds when the mute ends (MutedAccount)."""
    return {**account, "mute_expires_at": iso(expires_at)}
