"""full-text search on statuses, trend entries, suggestion dismissals

SQLite: an FTS5 table `statuses_fts` (rowid = status id) kept in step by triggers.
PostgreSQL: a partial GIN index on to_tsvector('simple', ...) of the same text.
The indexed text is the content warning plus the source text, or the HTML content (tags stripped
on PostgreSQL) when a status has no source text (remote statuses).

Note for later migrations: on SQLite, a batch_alter_table on `statuses` that recreates the
table drops these triggers; recreate them (the search tests catch it).

Revision ID: a4464a6ee4dd
Revises: 7513b8726b24
Create Date: 2026-11-27 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "a4464a6ee4dd"
down_revision: str | Sequence[str] | None = "7513b8726b24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_BODY = (
    "{row}.spoiler_text || ' ' || CASE WHEN {row}.text <> '' THEN {row}.text ELSE {row}.content END"
)
_PG_DOCUMENT = (
    "to_tsvector('simple'::regconfig, spoiler_text || ' ' || "
    "CASE WHEN text <> '' THEN text ELSE regexp_replace(content, '<[^>]*>', ' ', 'g') END)"
)


def _sqlite_fts_up() -> None:
    op.execute(
        "CREATE VIRTUAL TABLE statuses_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 0')"
    )
    new_body = _SQLITE_BODY.format(row="new")
    op.execute(
        "CREATE TRIGGER statuses_fts_insert AFTER INSERT ON statuses "
        "WHEN new.reblog_of_id IS NULL AND new.deleted_at IS NULL BEGIN "
        f"INSERT INTO statuses_fts(rowid, body) VALUES (new.id, {new_body}); END"
    )
    op.execute(
        "CREATE TRIGGER statuses_fts_update AFTER UPDATE OF text, content, spoiler_text, deleted_at "
        "ON statuses BEGIN "
        "DELETE FROM statuses_fts WHERE rowid = old.id; "
        f"INSERT INTO statuses_fts(rowid, body) SELECT new.id, {new_body} "
        "WHERE new.reblog_of_id IS NULL AND new.deleted_at IS NULL; END"
    )
    op.execute(
        "CREATE TRIGGER statuses_fts_delete AFTER DELETE ON statuses BEGIN "
        "DELETE FROM statuses_fts WHERE rowid = old.id; END"
    )
    op.execute(
        "INSERT INTO statuses_fts(rowid, body) SELECT id, "
        + _SQLITE_BODY.format(row="statuses")
        + " FROM statuses WHERE reblog_of_id IS NULL AND deleted_at IS NULL"
    )


def _sqlite_fts_down() -> None:
    for trigger in ("statuses_fts_insert", "statuses_fts_update", "statuses_fts_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    op.execute("DROP TABLE IF EXISTS statuses_fts")


def upgrade() -> None:
    op.create_table(
        "trend_entries",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("tag_id", _BIG_ID, nullable=True),
        sa.Column("status_id", _BIG_ID, nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("computed_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_trend_entries_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["status_id"],
            ["statuses.id"],
            name=op.f("fk_trend_entries_status_id_statuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trend_entries")),
    )
    with op.batch_alter_table("trend_entries", schema=None) as batch_op:
        batch_op.create_index("ix_trend_entries_kind_rank", ["kind", "rank"], unique=False)

    op.create_table(
        "suggestion_dismissals",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("account_id", _BIG_ID, nullable=False),
        sa.Column("target_account_id", _BIG_ID, nullable=False),
        sa.Column("created_at", kinfolk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_suggestion_dismissals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name=op.f("fk_suggestion_dismissals_target_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_dismissals")),
        sa.UniqueConstraint(
            "account_id",
            "target_account_id",
            name=op.f("uq_suggestion_dismissals_account_id_target_account_id"),
        ),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE INDEX ix_statuses_fulltext ON statuses USING gin (({_PG_DOCUMENT})) "
            "WHERE reblog_of_id IS NULL AND deleted_at IS NULL"
        )
        # Prefix search on hashtag names (LIKE 'abc%') whatever the database collation.
        op.execute("CREATE INDEX ix_tags_name_pattern ON tags (name text_pattern_ops)")
    else:
        _sqlite_fts_up()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tags_name_pattern")
        op.execute("DROP INDEX IF EXISTS ix_statuses_fulltext")
    else:
        _sqlite_fts_down()
    op.drop_table("suggestion_dismissals")
    with op.batch_alter_table("trend_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_trend_entries_kind_rank")
    op.drop_table("trend_entries")
