"""Mastodon's Report entity, as the reporter (and staff notifications) see it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.api.entities.account import render_accounts
from kinfolk.container import Container
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation.models import Report
from kinfolk.kernel.clock import iso


def report_json(report: Report, target_account: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "action_taken": report.action_taken,
        "action_taken_at": iso(report.action_taken_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso(report.created_at),
        "status_ids": [str(i) for i in report.status_ids or []],
        "rule_ids": [str(i) for i in report.rule_ids] if report.rule_ids is not None else None,
        "target_account": target_account,
    }


async def render_report(session: AsyncSession, container: Container, report: Report) -> dict[str, Any]:
    target = await session.get(Account, report.target_account_id)
    assert target is not None
    return report_json(report, (await render_accounts(session, [target], container))[0])
