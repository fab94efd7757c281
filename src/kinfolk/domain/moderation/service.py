"""Filing a report, as Mastodon's ReportService does for local reporters.

The report names an account, optionally some of its statuses (which the reporter must be able
to see) and the server rules it breaks. Staff hear about it through an `admin.report`
notification, sent by a job so that filing stays cheap. A report about a remote account with
`forward` goes to that account's server too (`outbox.publish` of a `Flag`, which the instance
actor signs, as on Mastodon).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from kinfolk.db.database import UnitOfWork
from kinfolk.domain import outbox
from kinfolk.domain.accounts.models import Account
from kinfolk.domain.moderation import repo
from kinfolk.domain.moderation.models import REPORT_CATEGORIES, Report
from kinfolk.domain.statuses.models import Status
from kinfolk.kernel.errors import NotFound, Unprocessable

COMMENT_MAX = 1000
MAX_STATUSES = 100
MAX_RULES = 100


@dataclass(frozen=True)
class NewReport:
    account_id: int | None
    status_ids: list[int] = field(default_factory=list)
    comment: str = ""
    forward: bool = False
    category: str | None = None
    rule_ids: list[int] = field(default_factory=list)
    application_id: int | None = None


def _invalid(field_name: str, code: str, description: str) -> Unprocessable:
    label = field_name.replace("_", " ").capitalize()
    return Unprocessable(
        f"Validation failed: {label} {description}",
        details={field_name: [{"error": code, "description": description}]},
    )


async def file_report(uow: UnitOfWork, reporter: Account, new: NewReport) -> Report:
    """Validate everything first (404 for what cannot be seen, 422 for bad values), then insert."""
    session = uow.session
    target = await repo.get_account(session, new.account_id) if new.account_id is not None else None
    if target is None:
        raise NotFound()
    if len(new.comment) > COMMENT_MAX:
        raise _invalid("comment", "ERR_TOO_LONG", f"is too long (maximum is {COMMENT_MAX} characters)")
    wanted = list(dict.fromkeys(new.status_ids))
    if len(wanted) > MAX_STATUSES:
        raise _invalid("status_ids", "ERR_TOO_LONG", f"is too long (maximum is {MAX_STATUSES})")
    statuses = await repo.reportable_status_ids(session, target.id, wanted, reporter.id)
    if len(statuses) != len(wanted):
        raise NotFound()
    rules = list(dict.fromkeys(new.rule_ids))[:MAX_RULES]
    category = "violation" if rules else (new.category or "other")
    if category not in REPORT_CATEGORIES:
        raise _invalid("category", "ERR_INCLUSION", "is not included in the list")
    if rules and target.is_local:
        if await repo.existing_rule_ids(session, rules) != set(rules):
            raise _invalid("rule_ids", "ERR_INVALID", "contains invalid rule ids")
        rule_ids: list[int] | None = rules
    else:
        rule_ids = None
    report = Report(
        account_id=reporter.id,
        target_account_id=target.id,
        status_ids=wanted,
        rule_ids=rule_ids,
        comment=new.comment,
        category=category,
        forwarded=new.forward and not target.is_local,
        application_id=new.application_id,
    )
    await repo.add_report(session, report)
    await uow.enqueue("notifications.admin_report", {"report_id": report.id})
    if report.forwarded:
        await outbox.publish(uow, "Flag", {"report_id": report.id})
    return report


async def receive_remote_report(
    uow: UnitOfWork, reporter: Account, target: Account, status_ids: list[int], comment: str, uri: str | None
) -> Report | None:
    """A report another server sent (a `Flag`) about a local account, filed under the account
    that sent it (Mastodon's servers sign it with their instance actor, so the reporter stays
    anonymous). Only the target's own statuses stay attached; the comment is cut to fit. The
    same `uri` received again files nothing. None when nothing was filed."""
    session = uow.session
    if not target.is_local or reporter.is_local:
        return None
    if uri is not None and (await session.execute(select(Report.id).where(Report.uri == uri))).first():
        return None
    wanted = list(dict.fromkeys(status_ids))[:MAX_STATUSES]
    own: set[int] = set()
    if wanted:
        found = await session.execute(
            select(Status.id).where(Status.id.in_(wanted), Status.account_id == target.id)
        )
        own = set(found.scalars())
    report = Report(
        account_id=reporter.id,
        target_account_id=target.id,
        status_ids=[sid for sid in wanted if sid in own],
        comment=comment[:COMMENT_MAX],
        category="other",
        uri=uri,
    )
    await repo.add_report(session, report)
    await uow.enqueue("notifications.admin_report", {"report_id": report.id})
    if report.forwarded:
        await outbox.publish(uow, "Flag", {"report_id": report.id})
    return report
