"""Who is signed in: users and roles from a file of argon2 hashes, or a trusted reverse
proxy's header; the session's CSRF token, checked on every POST."""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request

from monitor.casework.errors import CaseworkError, Forbidden, InvalidInput
from monitor.casework.workflow import ROLES
from monitor.core.errors import ConfigurationError

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "NotSignedIn",
    "User",
    "Users",
    "check_csrf",
    "csrf_token",
    "current_user",
    "hash_password",
    "load_users",
]

logger = logging.getLogger(__name__)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_hasher = PasswordHasher()


class NotSignedIn(CaseworkError):
    """No valid session (or proxy header): sign in first."""

    status = 401


@dataclass(frozen=True, slots=True)
class User:
    name: str
    role: str
    password_hash: str = ""


@dataclass(frozen=True, slots=True)
class Users:
    by_name: dict[str, User]
    proxy_header: str | None = None  # e.g. X-Remote-User, set only behind a trusted proxy

    def authenticate(self, name: str, password: str) -> User | None:
        user = self.by_name.get(name)
        if user is None or not user.password_hash:
            _hasher.hash(password)  # the same time whether the user exists or not
            return None
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return user


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def load_users(path: Path, proxy_header: str | None = None) -> Users:
    """`users: [{name, role, password_hash}]` (YAML); a bad entry raises
    `ConfigurationError` naming it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from None
    users: dict[str, User] = {}
    for n, entry in enumerate(raw.get("users") or []):
        where = f"{path}: users.{n}"
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ConfigurationError(f"{where}: needs a name")
        if entry.get("role") not in ROLES:
            raise ConfigurationError(f"{where}.role: one of {', '.join(ROLES)}")
        pw = str(entry.get("password_hash") or "")
        if pw and not pw.startswith("$argon2"):
            raise ConfigurationError(f"{where}.password_hash: not an argon2 hash")
        if not pw and proxy_header is None:
            raise ConfigurationError(f"{where}.password_hash: required without a proxy header")
        users[str(entry["name"])] = User(str(entry["name"]), entry["role"], pw)
    if not users:
        raise ConfigurationError(f"{path}: no users")
    return Users(users, proxy_header)


def csrf_token(request: Request) -> str:
    """The session's token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Refuse a POST whose form field or header does not carry the session's token."""
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page")


def current_user(request: Request) -> User:
    """The signed-in user; `NotSignedIn` without a live session."""
    users: Users = request.app.state.users
    if users.proxy_header:
        name = request.headers.get(users.proxy_header)
        user = users.by_name.get(name or "")
        if user is None:
            raise NotSignedIn("the proxy did not name a known user")
        return user
    name = request.session.get("user")
    started = float(request.session.get("since", 0))
    if not name or time.time() - started > request.app.state.session_seconds:
        request.session.clear()
        raise NotSignedIn("sign in to continue")
    user = users.by_name.get(name)
    if user is None:
        raise NotSignedIn("sign in to continue")
    return user


def sign_in(request: Request, user: User) -> None:
    request.session.clear()
    request.session.update({"user": user.name, "since": time.time()})
    csrf_token(request)


def require_text(value: str | None, name: str) -> str:
    if not value:
        raise InvalidInput(f"{name}: required")
    return value
