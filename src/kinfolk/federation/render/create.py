"""`Create` of a status: the activity a status is delivered and listed in an outbox as.

Its addressing is the note's own, so a server that reads only the activity (as many do for
delivery) and one that reads only the object reach the same audience.
"""

from __future__ import annotations

from typing import Any

from kinfolk.federation.render.context import with_context
from kinfolk.federation.render.env import RenderEnv, ap_time
from kinfolk.federation.render.note import NoteRows, render_note_object


def render_create_object(env: RenderEnv, rows: NoteRows) -> dict[str, Any]:
    note = render_note_object(env, rows)
    author = rows.author
    return {
        "id": env.uris.status_activity(author.username, rows.status.id),
        "type": "Create",
        "actor": note["attributedTo"],
        "published": ap_time(rows.status.created_at),
        "to": list(note["to"]),
        "cc": list(note["cc"]),
        "object": note,
    }


def render_create(env: RenderEnv, rows: NoteRows) -> dict[str, Any]:
    return with_context(render_create_object(env, rows))
