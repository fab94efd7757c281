"""reports, notification permissions, admin.report links, poll expiry marker, sealed push tokens

- `reports`: what people file with POST /api/v1/reports.
- `notification_permissions`: senders whose notifications pass the policy (accepted requests).
- `notifications.report_id`: the report behind an admin.report notification.
- `polls.notified`: set once a poll's end was announced; polls that had already ended when this
  migration ran are marked, so that the first run does not announce old polls.
- `push_subscriptions.access_token_sealed`: the subscribing token, encrypted, for the payload.

Revision ID: c3f1a9d2e7b4
Revises: a4464a6ee4dd
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import kinfolk.db.base

revision: str = "c3f1a9d2e7b4"
down_revision: str | Sequence[str] | None = "a4464a6ee4dd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = kinfolk.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("account_id", _BIG_ID, nullable=False),
        sa.Column("target_account_id", _BIG_ID, nullable=False),
        sa.Column("status_ids", sa.JSON(), nullable=False),
        sa.Column("rule_ids", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("forwarded", sa.Boolean(), nullable=False),
        sa.Column("application_id", _BIG_ID, nullable=True),
        sa.Column("uri", sa.String(length=1024), nullable=True),
        sa.Column("action_taken_at", _TS, nullable=True),
        sa.Column("assigned_account_id", _BIG_ID, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_reports_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["target_account_id"],
            ["accounts.id"],
            name=op.f("fk_reports_target_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["oauth_applications.id"],
            name=op.f("fk_reports_application_id_oauth_applications"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_account_id"],
            ["accounts.id"],
            name=op.f("fk_reports_assigned_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("uri", name=op.f("uq_reports_uri")),
    )
    op.create_index("ix_reports_target_account_id_id", "reports", ["target_account_id", "id"])
    op.create_index("ix_reports_account_id", "reports", ["account_id"])

    op.create_table(
        "notification_permissions",
        sa.Column("account_id", _BIG_ID, nullable=False),
        sa.Column("from_account_id", _BIG_ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_permissions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["from_account_id"],
            ["accounts.id"],
            name=op.f("fk_notification_permissions_from_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "from_account_id", name=op.f("pk_notification_permissions")),
    )
    op.create_index("ix_notification_requests_account_id_id", "notification_requests", ["account_id", "id"])

    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("report_id", _BIG_ID, nullable=True))
        batch.create_foreign_key(
            "fk_notifications_report_id_reports", "reports", ["report_id"], ["id"], ondelete="CASCADE"
        )
    op.create_index("ix_notifications_report_id", "notifications", ["report_id"])

    op.add_column("polls", sa.Column("notified", sa.Boolean(), nullable=False, server_default=sa.false()))
    polls = sa.table("polls", sa.column("notified", sa.Boolean()), sa.column("expires_at", _TS))
    op.execute(
        polls.update()
        .where(polls.c.expires_at.is_not(None), polls.c.expires_at <= datetime.now(UTC))
        .values(notified=True)
    )
    op.create_index("ix_polls_notified_expires_at", "polls", ["notified", "expires_at"])

    op.add_column("push_subscriptions", sa.Column("access_token_sealed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_subscriptions") as batch:
        batch.drop_column("access_token_sealed")
    op.drop_index("ix_polls_notified_expires_at", table_name="polls")
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("notified")
    op.drop_index("ix_notifications_report_id", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("fk_notifications_report_id_reports", type_="foreignkey")
        batch.drop_column("report_id")
    op.drop_index("ix_notification_requests_account_id_id", table_name="notification_requests")
    op.drop_table("notification_permissions")
    op.drop_index("ix_reports_account_id", table_name="reports")
    op.drop_index("ix_reports_target_account_id_id", table_name="reports")
    op.drop_table("reports")
