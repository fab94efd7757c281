"""The `kinfolk` command: serve, web, worker, migrate, and operator tasks (accounts, apps, tokens)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError, ProgrammingError

from kinfolk.config import Settings, load_settings
from kinfolk.container import Container


def _run(coro_fn: Callable[[Container], Awaitable[int]], settings: Settings) -> int:
    async def main() -> int:
        container = Container.build(settings, pool_size=2)
        try:
            return await coro_fn(container)
        finally:
            await container.close()

    return asyncio.run(main())


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.db.migrate import upgrade
    from kinfolk.runtime import fill_local_addresses

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)

    async def fill(container: Container) -> int:
        filled = await fill_local_addresses(container)
        if filled:
            print(f"Stored the addresses of {filled} local accounts under {settings.base_url}")
        return 0

    _run(fill, settings)
    print(f"Database migrated: {_safe_url(settings.resolved_database_url)}")
    return 0


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.runtime import serve

    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    return serve(settings, mode=args.command, workers=getattr(args, "workers", 1))


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.runtime import run_worker

    queues = [q.strip() for q in args.queues.split(",") if q.strip()] if args.queues else None
    if args.delivery_concurrency is not None:
        settings.delivery_concurrency = max(1, args.delivery_concurrency)
    return run_worker(settings, queues=queues, concurrency=args.concurrency)


def cmd_accounts_create(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.accounts.service import NewAccount, create_local_account
    from kinfolk.kernel.errors import Unprocessable

    password = args.password or ask_password()
    if password is None:
        return 1

    async def go(container: Container) -> int:
        try:
            async with container.db.uow() as uow:
                account, user = await create_local_account(
                    uow.session,
                    NewAccount(
                        username=args.username,
                        email=args.email,
                        password=password,
                        role=args.role,
                        allow_reserved=True,
                        locked=args.locked,
                        discoverable=not args.not_discoverable,
                        indexable=args.indexable,
                        locale=args.locale,
                    ),
                    uris=container.uris,
                )
        except Unprocessable as exc:
            print(exc.message, file=sys.stderr)
            return 1
        print(f"Created @{account.username} (id {account.id}, role {user.role})")
        return 0

    return _run(go, settings)


def ask_password(attempts: int = 3) -> str | None:
    """Typed twice at a terminal (a typo would lock the owner out); one line when piped in."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            print("No password given (pass --password or type it at a terminal)", file=sys.stderr)
            return None
        return line
    for _ in range(attempts):
        first = getpass.getpass("Password: ")
        if not first:
            print("The password cannot be empty.", file=sys.stderr)
            continue
        if getpass.getpass("Password (again): ") == first:
            return first
        print("The passwords do not match; try again.", file=sys.stderr)
    print("No password set.", file=sys.stderr)
    return None


def cmd_accounts_list(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.accounts.repo import list_local

    async def go(container: Container) -> int:
        async with container.db.uow(write=False) as uow:
            rows = await list_local(uow.session)
        print(f"{'id':<20} {'username':<30} {'email':<40} {'role':<10} approved")
        for account, user in rows:
            print(f"{account.id:<20} {account.username:<30} {user.email:<40} {user.role:<10} {user.approved}")
        return 0

    return _run(go, settings)


def cmd_accounts_approve(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.accounts.repo import get_by_username, get_user_for_account

    async def go(container: Container) -> int:
        async with container.db.uow() as uow:
            account = await get_by_username(uow.session, args.username)
            user = await get_user_for_account(uow.session, account.id) if account else None
            if user is None:
                print(f"No local account @{args.username}", file=sys.stderr)
                return 1
            user.approved = True
        print(f"Approved @{args.username}")
        return 0

    return _run(go, settings)


def cmd_accounts_delete(args: argparse.Namespace, settings: Settings) -> int:
    """Delete a local account for good, as its owner deleting it in Mastodon: invisible and
    signed out at once, its `Delete` sent to other servers and its data purged by the worker;
    the username stays reserved."""
    from kinfolk.domain.accounts.deletion import delete_local_account
    from kinfolk.domain.accounts.repo import get_by_username

    if not args.yes:
        try:
            answer = input(f"Delete @{args.username} and everything of it, here and elsewhere? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.", file=sys.stderr)
            return 1

    async def go(container: Container) -> int:
        async with container.db.uow() as uow:
            account = await get_by_username(uow.session, args.username)
            if account is None:
                print(f"No local account @{args.username}", file=sys.stderr)
                return 1
            if not await delete_local_account(uow, account):
                print(f"@{args.username} is deleted already", file=sys.stderr)
                return 1
        print(f"Deleted @{args.username}; the worker removes the rest of its data")
        return 0

    return _run(go, settings)


def cmd_apps_create(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.oauth.service import create_application
    from kinfolk.kernel.errors import Unprocessable

    async def go(container: Container) -> int:
        try:
            async with container.db.uow() as uow:
                app = await create_application(
                    uow.session,
                    name=args.name,
                    client_id=args.client_id,
                    client_secret=args.client_secret,
                    scopes=args.scopes,
                    redirect_uris=args.redirect_uri or None,
                    website=args.website,
                )
        except Unprocessable as exc:
            print(exc.message, file=sys.stderr)
            return 1
        print(f"client_id: {app.client_id}\nclient_secret: {app.client_secret}\nscopes: {app.scopes}")
        return 0

    return _run(go, settings)


def cmd_tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.accounts.repo import get_by_username, get_user_for_account
    from kinfolk.domain.oauth.repo import get_app_by_name
    from kinfolk.domain.oauth.scopes import parse_scopes
    from kinfolk.domain.oauth.service import create_application, issue_token, validate_scopes
    from kinfolk.kernel.errors import Unprocessable

    async def go(container: Container) -> int:
        scopes = parse_scopes(args.scopes)
        try:
            validate_scopes(scopes)
        except Unprocessable as exc:
            print(exc.message, file=sys.stderr)
            return 1
        async with container.db.uow() as uow:
            account = await get_by_username(uow.session, args.username)
            user = await get_user_for_account(uow.session, account.id) if account else None
            if user is None:
                print(f"No local account @{args.username}", file=sys.stderr)
                return 1
            app = await get_app_by_name(uow.session, args.app) if args.app else None
            if args.app and app is None:
                print(f"No application named {args.app!r}", file=sys.stderr)
                return 1
            if app is None:
                app = await get_app_by_name(uow.session, "Kinfolk CLI") or await create_application(
                    uow.session, name="Kinfolk CLI", scopes=" ".join(sorted(_all_top_level()))
                )
            issued = await issue_token(
                uow.session,
                application=app,
                user=user,
                scopes=scopes,
                with_refresh=False,
                token_value=args.token,
            )
        print(issued.access_token)
        return 0

    return _run(go, settings)


def cmd_rules_add(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.instance.service import add_rule
    from kinfolk.kernel.errors import Unprocessable

    async def go(container: Container) -> int:
        try:
            async with container.db.uow() as uow:
                rule = await add_rule(uow.session, args.text, hint=args.hint)
        except Unprocessable as exc:
            print(exc.message, file=sys.stderr)
            return 1
        print(f"Added rule {rule.id}")
        return 0

    return _run(go, settings)


def cmd_rules_list(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.instance.service import list_rules

    async def go(container: Container) -> int:
        async with container.db.uow(write=False) as uow:
            rules = await list_rules(uow.session)
        for rule in rules:
            print(f"{rule.id:<20} {rule.text}" + (f"  ({rule.hint})" if rule.hint else ""))
        return 0

    return _run(go, settings)


def cmd_rules_remove(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.instance.service import remove_rule
    from kinfolk.kernel.errors import NotFound

    async def go(container: Container) -> int:
        try:
            async with container.db.uow() as uow:
                await remove_rule(uow.session, args.id)
        except NotFound:
            print(f"No rule {args.id}", file=sys.stderr)
            return 1
        print(f"Removed rule {args.id}")
        return 0

    return _run(go, settings)


def cmd_domains_block(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.moderation.domain_blocks import BlockRequest, block_domain
    from kinfolk.kernel.errors import Unprocessable

    async def go(container: Container) -> int:
        try:
            async with container.db.uow() as uow:
                block = await block_domain(
                    uow.session,
                    BlockRequest(
                        domain=args.domain,
                        severity=args.severity,
                        reject_media=args.reject_media,
                        reject_reports=args.reject_reports,
                        private_comment=args.private_comment,
                        public_comment=args.public_comment,
                        obfuscate=args.obfuscate,
                    ),
                )
        except Unprocessable as exc:
            print(exc.message, file=sys.stderr)
            return 1
        print(f"Blocked {block.domain} ({block.severity})")
        return 0

    return _run(go, settings)


def cmd_domains_unblock(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.moderation.domain_blocks import unblock_domain
    from kinfolk.kernel.errors import NotFound, Unprocessable

    async def go(container: Container) -> int:
        try:
            async with container.db.uow() as uow:
                await unblock_domain(uow.session, args.domain)
        except (NotFound, Unprocessable):
            print(f"No block on {args.domain}", file=sys.stderr)
            return 1
        print(f"Unblocked {args.domain}")
        return 0

    return _run(go, settings)


def cmd_domains_list(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.moderation.domain_blocks import list_blocks

    async def go(container: Container) -> int:
        async with container.db.uow(write=False) as uow:
            blocks = await list_blocks(uow.session)
        for block in blocks:
            flags = [
                name
                for name, on in (
                    ("reject-media", block.reject_media),
                    ("reject-reports", block.reject_reports),
                    ("obfuscate", block.obfuscate),
                )
                if on
            ]
            print(f"{block.domain:<40} {block.severity:<8} {' '.join(flags)}".rstrip())
        return 0

    return _run(go, settings)


def cmd_relays_add(args: argparse.Namespace, settings: Settings) -> int:
    from urllib.parse import urlsplit

    from kinfolk.domain.instance.relays import add_relay
    from kinfolk.federation.dereference import fetch_actor
    from kinfolk.federation.parse.values import https_url
    from kinfolk.kernel.errors import Unprocessable

    async def go(container: Container) -> int:
        url = https_url(args.url.strip())
        if url is None or container.uris.is_local(url):
            print(f"Not a relay's URL: {args.url}", file=sys.stderr)
            return 1
        actor_uri: str | None = None
        inbox_url = url
        if not urlsplit(url).path.rstrip("/").endswith("/inbox"):
            # Not an inbox: a LitePub relay's actor, fetched (no transaction open) for its inbox.
            actor = await fetch_actor(container, url)
            inbox = actor and (actor.shared_inbox_url or actor.inbox_url)
            if actor is None or actor.uri is None or not inbox:
                print(f"{url} is neither a relay's inbox nor an actor with an inbox", file=sys.stderr)
                return 1
            actor_uri, inbox_url = actor.uri, inbox
        try:
            async with container.db.uow() as uow:
                relay = await add_relay(uow, container.uris, inbox_url, actor_uri)
        except Unprocessable as exc:
            print(exc.message, file=sys.stderr)
            return 1
        style = f"LitePub, following {actor_uri}" if relay.follows_actor else "Mastodon-style"
        print(f"Subscribing to {relay.inbox_url} ({style}): pending until the relay accepts")
        return 0

    return _run(go, settings)


def cmd_relays_list(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.instance.relays import list_relays

    async def go(container: Container) -> int:
        async with container.db.uow(write=False) as uow:
            found = await list_relays(uow.session)
        for relay in found:
            print(f"{relay.inbox_url:<50} {relay.state:<9} {relay.actor_uri or ''}".rstrip())
        return 0

    return _run(go, settings)


def cmd_relays_remove(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.domain.instance.relays import remove_relay
    from kinfolk.kernel.errors import NotFound

    async def go(container: Container) -> int:
        try:
            async with container.db.uow() as uow:
                relay = await remove_relay(uow, args.url.strip())
        except NotFound:
            print(f"No relay {args.url}", file=sys.stderr)
            return 1
        print(f"Unsubscribed from {relay.inbox_url}")
        return 0

    return _run(go, settings)


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.ops.doctor import doctor

    return doctor(settings, timeout=args.timeout)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.ops.backup import BackupError, backup

    try:
        summary = backup(settings, Path(args.dest))
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return 2 if not settings.is_sqlite else 1
    print(
        f"Backed up to {summary.destination}: database {summary.database_bytes} bytes, "
        f"{summary.media_files} media files, {', '.join(summary.other_files) or 'no other files'}"
    )
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    from kinfolk.ops.backup import BackupError, restore

    try:
        data_dir = restore(settings, Path(args.src), force=args.force)
    except BackupError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Restored {args.src} into {data_dir.resolve()}; run `kinfolk migrate` if this is a newer Kinfolk")
    return 0


def _all_top_level() -> set[str]:
    from kinfolk.domain.oauth.scopes import TOP_LEVEL

    return set(TOP_LEVEL)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kinfolk", description="Kinfolk federated microblogging server")
    sub = parser.add_subparsers(dest="command")

    for name, help_text in (
        ("serve", "web + worker + scheduler in one process (default)"),
        ("web", "web process only"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--host")
        p.add_argument("--port", type=int)
        if name == "web":
            p.add_argument("--workers", type=int, default=1)
        p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="background job worker")
    p.add_argument("--queues", help="comma-separated queues (default: all)")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument(
        "--delivery-concurrency",
        type=int,
        default=None,
        help="slots of their own for the delivery queue (default: KINFOLK_DELIVERY_CONCURRENCY, 512)",
    )
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.set_defaults(func=cmd_migrate)

    accounts_parser = sub.add_parser("accounts", help="manage local accounts")
    accounts = accounts_parser.add_subparsers(dest="sub", required=True)
    p = accounts.add_parser("create")
    p.add_argument("username")
    p.add_argument("--email", required=True)
    p.add_argument("--password")
    p.add_argument("--role", default="user", choices=["owner", "admin", "moderator", "user"])
    p.add_argument("--locked", action="store_true")
    p.add_argument("--not-discoverable", action="store_true")
    p.add_argument("--indexable", action="store_true")
    p.add_argument("--locale", default="en")
    p.set_defaults(func=cmd_accounts_create)
    p = accounts.add_parser("list")
    p.set_defaults(func=cmd_accounts_list)
    p = accounts.add_parser("approve")
    p.add_argument("username")
    p.set_defaults(func=cmd_accounts_approve)
    p = accounts.add_parser("delete", help="delete a local account for good (the name stays reserved)")
    p.add_argument("username")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=cmd_accounts_delete)

    apps = sub.add_parser("apps", help="manage OAuth applications").add_subparsers(dest="sub", required=True)
    p = apps.add_parser("create")
    p.add_argument("name")
    p.add_argument("--client-id")
    p.add_argument("--client-secret")
    p.add_argument("--scopes", default="read")
    p.add_argument("--redirect-uri", action="append")
    p.add_argument("--website")
    p.set_defaults(func=cmd_apps_create)

    tokens = sub.add_parser("tokens", help="issue access tokens").add_subparsers(dest="sub", required=True)
    p = tokens.add_parser("create")
    p.add_argument("username")
    p.add_argument("--scopes", required=True)
    p.add_argument("--app")
    p.add_argument("--token", help="import a known token value")
    p.set_defaults(func=cmd_tokens_create)

    rules = sub.add_parser("rules", help="manage server rules").add_subparsers(dest="sub", required=True)
    p = rules.add_parser("add")
    p.add_argument("text")
    p.add_argument("--hint", default="")
    p.set_defaults(func=cmd_rules_add)
    p = rules.add_parser("list")
    p.set_defaults(func=cmd_rules_list)
    p = rules.add_parser("remove")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_rules_remove)

    domains = sub.add_parser("domains", help="moderate whole servers (domain blocks)").add_subparsers(
        dest="sub", required=True
    )
    p = domains.add_parser("block", help="block or change the block on a domain and its subdomains")
    p.add_argument("domain")
    p.add_argument("--severity", choices=("suspend", "silence", "noop"), default="silence")
    p.add_argument("--reject-media", action="store_true")
    p.add_argument("--reject-reports", action="store_true")
    p.add_argument("--private-comment", default="")
    p.add_argument("--public-comment", default="")
    p.add_argument("--obfuscate", action="store_true", help="star the domain in the public list")
    p.set_defaults(func=cmd_domains_block)
    p = domains.add_parser("unblock")
    p.add_argument("domain")
    p.set_defaults(func=cmd_domains_unblock)
    p = domains.add_parser("list")
    p.set_defaults(func=cmd_domains_list)

    relays = sub.add_parser("relays", help="subscribe to relays of public posts").add_subparsers(
        dest="sub", required=True
    )
    p = relays.add_parser("add", help="follow a relay: its inbox URL (Mastodon-style) or its actor (LitePub)")
    p.add_argument("url")
    p.set_defaults(func=cmd_relays_add)
    p = relays.add_parser("list")
    p.set_defaults(func=cmd_relays_list)
    p = relays.add_parser("remove", help="unfollow a relay, by its inbox or actor URL")
    p.add_argument("url")
    p.set_defaults(func=cmd_relays_remove)

    p = sub.add_parser(
        "doctor", help="check the configuration, database, Redis, storage, reachability, clock"
    )
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per network check (default 3)")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("backup", help="online backup of a SQLite server: database, media, keys")
    p.add_argument("dest", help="a new directory, or a file ending in .tar.gz")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser("restore", help="restore a backup made by `kinfolk backup` into the data directory")
    p.add_argument("src", help="the backup directory or .tar.gz")
    p.add_argument("--force", action="store_true", help="replace a data directory that is not empty")
    p.set_defaults(func=cmd_restore)

    from kinfolk.jobs.commands import add_jobs_commands

    add_jobs_commands(sub)
    return parser


# Commands that create or need no schema of their own; every other command reads the database
# (`web` migrates SQLite itself, as `serve` does; on PostgreSQL it expects `kinfolk migrate`).
_NO_SCHEMA_CHECK = {"migrate", "serve", "doctor", "backup", "restore"}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or [])])
    try:
        settings = load_settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "KINFOLK_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"{name}: {error['msg']} (got {error.get('input')!r})", file=sys.stderr)
        return 2
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    try:
        if args.command not in _NO_SCHEMA_CHECK and not (args.command == "web" and settings.is_sqlite):
            problem = _schema_problem(settings)
            if problem:
                print(problem, file=sys.stderr)
                return 1
        return func(args, settings)
    except BrokenPipeError:
        # `kinfolk jobs list | head -1`: the reader left. Point stdout at /dev/null so that the
        # interpreter's final flush does not raise again, and exit quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (OperationalError, ProgrammingError) as exc:
        from kinfolk.ops.schema import MIGRATE_HINT, is_missing_table

        if is_missing_table(exc):
            print(f"The database has no Kinfolk tables: {MIGRATE_HINT}.", file=sys.stderr)
        else:
            print(f"Database error: {' '.join(str(exc.orig or exc).split())[:300]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        # A second Ctrl-C during shut-down (or one during a prompt): quiet, as a shell expects.
        print(file=sys.stderr)
        return 130


def _schema_problem(settings: Settings) -> str | None:
    """Why the database cannot serve a command (missing, unreachable, not migrated), or None."""
    from kinfolk.db.database import make_engine
    from kinfolk.ops.schema import MIGRATE_HINT, schema_state

    url = settings.resolved_database_url
    if settings.is_sqlite and not Path(url.split(":///", 1)[1]).exists():
        return f"No database at {url.split(':///', 1)[1]}: {MIGRATE_HINT}."

    async def check() -> str | None:
        engine = make_engine(url, pool_size=1)
        try:
            state = await schema_state(engine)
        except (OperationalError, OSError) as exc:
            return f"Cannot reach the database {_safe_url(url)}: {' '.join(str(exc).split())[:300]}"
        finally:
            await engine.dispose()
        if not state.migrated:
            return f"{state.describe().capitalize()}: {MIGRATE_HINT}."
        return None

    return asyncio.run(check())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
