"""The instance actor: an `Application` at `/actor` that signs the server's own fetches.

Servers in secure mode (Mastodon's AUTHORIZED_FETCH) answer only signed GETs, and fetching a
user's key to verify a signature is itself a GET; signing those with a key that belongs to no
person breaks the loop, as Mastodon's and GoToSocial's instance actors do. Its
`preferredUsername` is the domain, so WebFinger-minded servers never mistake it for a user.
"""

from __future__ import annotations

from typing import Any

from kinfolk.federation.render.context import with_context
from kinfolk.federation.render.env import RenderEnv


def render_instance_actor(env: RenderEnv, public_key_pem: str) -> dict[str, Any]:
    uris = env.uris
    actor_id = uris.instance_actor()
    return with_context(
        {
            "id": actor_id,
            "type": "Application",
            "inbox": uris.shared_inbox(),
            "preferredUsername": env.domain,
            "manuallyApprovesFollowers": True,
            "publicKey": {"id": uris.instance_key_id(), "owner": actor_id, "publicKeyPem": public_key_pem},
            "endpoints": {"sharedInbox": uris.shared_inbox()},
        }
    )
