"""Rules for local accounts: usernames as Mastodon allows them, passwords, keys, registration."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from kinfolk.domain.accounts import repo
from kinfolk.domain.accounts.models import ROLES, Account, AccountStats, User
from kinfolk.kernel.errors import Unprocessable

USERNAME_RE = re.compile(r"^[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?$", re.IGNORECASE)
USERNAME_MAX = 30
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost(:\d+)?$")
PASSWORD_MIN = 8
PASSWORD_MAX = 72
# Names that would shadow server paths or impersonate the server.
RESERVED_USERNAMES = frozenset(
    {
        "admin",
        "support",
        "help",
        "root",
        "webmaster",
        "administrator",
        "mod",
        "moderator",
        "api",
        "oauth",
        "well-known",
        "inbox",
        "actor",
        "instance",
        "about",
        "settings",
        "auth",
        "users",
    }
)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_key_pair() -> tuple[str, str]:
    """An RSA-2048 key pair as PEM (private PKCS#8, public SubjectPublicKeyInfo) for HTTP signatures."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def validate_username(username: str, *, allow_reserved: bool = False) -> list[str]:
    problems = []
    if not username:
        problems.append("can't be blank")
    elif len(username) > USERNAME_MAX:
        problems.append(f"is too long (maximum is {USERNAME_MAX} characters)")
    elif not USERNAME_RE.match(username):
        problems.append("must contain only letters, numbers, underscores and inner dots or dashes")
    elif not allow_reserved and username.lower() in RESERVED_USERNAMES:
        problems.append("is reserved")
    return problems


@dataclass
class NewAccount:
    username: str
    email: str
    password: str
    role: str = "user"
    approved: bool = True
    confirmed: bool = True
    locale: str = "en"
    reason: str = ""
    sign_up_ip: str | None = None
    allow_reserved: bool = False
    locked: bool = False
    discoverable: bool = True
    indexable: bool = False


async def create_local_account(session: AsyncSession, new: NewAccount) -> tuple[Account, User]:
    """Validate and insert an account, its user and counters; raises 422 naming each bad field."""
    from kinfolk.kernel.clock import utcnow

    errors: dict[str, list[dict[str, str]]] = {}

    def fail(field: str, code: str, description: str) -> None:
        errors.setdefault(field, []).append({"error": code, "description": description})

    username = new.username.strip()
    email = new.email.strip().lower()
    for problem in validate_username(username, allow_reserved=new.allow_reserved):
        fail("username", "ERR_INVALID" if "reserved" not in problem else "ERR_RESERVED", problem)
    if not errors.get("username") and await repo.get_by_username(session, username):
        fail("username", "ERR_TAKEN", "is already taken")
    if not EMAIL_RE.match(email):
        fail("email", "ERR_INVALID", "is invalid")
    elif await repo.get_user_by_email(session, email):
        fail("email", "ERR_TAKEN", "is already taken")
    if len(new.password) < PASSWORD_MIN:
        fail("password", "ERR_TOO_SHORT", f"is too short (minimum is {PASSWORD_MIN} characters)")
    elif len(new.password) > PASSWORD_MAX:
        fail("password", "ERR_TOO_LONG", f"is too long (maximum is {PASSWORD_MAX} characters)")
    if new.role not in ROLES:
        fail("role", "ERR_INCLUSION", f"must be one of {', '.join(ROLES)}")
    if errors:
        summary = ", ".join(f"{field} {items[0]['description']}" for field, items in errors.items())
        raise Unprocessable(f"Validation failed: {summary}", details=errors)

    private_pem, public_pem = await asyncio.to_thread(generate_key_pair)
    password_hash = await asyncio.to_thread(hash_password, new.password)
    account = Account(
        username=username,
        domain=None,
        acct_key=repo.acct_key(username, None),
        public_key_pem=public_pem,
        private_key_pem=private_pem,
        locked=new.locked,
        discoverable=new.discoverable,
        indexable=new.indexable,
        fields=[],
    )
    session.add(account)
    await session.flush()
    user = User(
        account_id=account.id,
        email=email,
        password_hash=password_hash,
        role=new.role,
        approved=new.approved,
        confirmed_at=utcnow() if new.confirmed else None,
        locale=new.locale,
        reason=new.reason,
        sign_up_ip=new.sign_up_ip,
        settings={},
    )
    session.add(user)
    session.add(AccountStats(account_id=account.id))
    await session.flush()
    return account, user
