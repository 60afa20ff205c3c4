"""Staff accounts and API tokens: create users, check passwords, issue and verify tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import AuthError, NotFound, ValidationFailed
from .models import ROLES, ApiToken, StaffUser, utcnow
from .validation import normalize_email

MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown email as slow as a real one.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Return an Argon2id hash of the password after checking its length."""
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed({"password": f"Use at least {MIN_PASSWORD} characters."})
    if len(password) > 1024:
        raise ValidationFailed({"password": "Use at most 1024 characters."})
    return _hasher.hash(password)


def create_user(session: Session, email: str, password: str, *, role: str,
                name: str = "") -> StaffUser:
    """Create a staff account; the email must be new and the role known."""
    if role not in ROLES:
        raise ValidationFailed({"role": f"Must be one of: {', '.join(ROLES)}."})
    try:
        _display, key = normalize_email(email)
    except ValueError as exc:
        raise ValidationFailed({"email": str(exc)}) from None
    if session.scalar(select(StaffUser).where(StaffUser.email == key)) is not None:
        raise ValidationFailed({"email": "A staff account with this email already exists."})
    user = StaffUser(email=key, name=name.strip()[:200], role=role,
                     password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, email: str) -> StaffUser | None:
    """Return the staff account with this email, if any."""
    return session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))


def get_user(session: Session, user_id: int) -> StaffUser:
    """Return a staff account by id or raise NotFound."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise NotFound(f"No staff account #{user_id}.")
    return user


def authenticate(session: Session, email: str, password: str) -> StaffUser:
    """Return the active account these credentials open, or raise AuthError."""
    user = find_user(session, email or "")
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        user = None
    if user is None or not user.active:
        raise AuthError("Wrong email or password.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def change_password(session: Session, user: StaffUser, current: str, new: str) -> None:
    """Set a new password after checking the current one."""
    try:
        _hasher.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise ValidationFailed({"current_password": "That is not your current password."}) from None
    user.password_hash = hash_password(new)
    session.flush()


def set_role(session: Session, user: StaffUser, role: str, *, active: bool) -> None:
    """Change an account's role and whether it may log in, keeping at least one admin."""
    if role not in ROLES:
        raise ValidationFailed({"role": f"Must be one of: {', '.join(ROLES)}."})
    losing_admin = user.role == "admin" and (role != "admin" or not active)
    if losing_admin:
        admins = session.scalars(
            select(StaffUser).where(StaffUser.role == "admin", StaffUser.active.is_(True))
        ).all()
        if len(admins) <= 1:
            raise ValidationFailed({"role": "Keep at least one active admin."})
    user.role = role
    user.active = active
    session.flush()


def list_users(session: Session) -> list[StaffUser]:
    """Return every staff account by email."""
    return list(session.scalars(select(StaffUser).order_by(StaffUser.email)))


def _digest(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is safe here; a slow password hash
    # would only make every API call slower.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user_id: str, *, name: str = "") -> tuple[ApiToken, str]:
    """Create an API token for a user id; return the row and the token, shown once."""
    token = "crm_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=str(user_id), name=name.strip()[:100], token_hash=_digest(token),
                   prefix=token[:12])
    session.add(row)
    session.flush()
    return row, token


def verify_token(session: Session, token: str) -> ApiToken:
    """Return the live token row for a presented token, or raise AuthError."""
    if not token or len(token) > 200:
        raise AuthError("Invalid API token.")
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        raise AuthError("Invalid API token.")
    row.last_used_at = utcnow()
    session.flush()
    return row


def revoke_token(session: Session, token_id: int, user_id: str) -> None:
    """Revoke one of a user's tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != str(user_id):
        raise NotFound(f"No token #{token_id}.")
    row.revoked_at = utcnow()
    session.flush()


def tokens_for(session: Session, user_id: str) -> list[ApiToken]:
    """Return a user's live tokens, newest first."""
    stmt = (
        select(ApiToken)
        .where(ApiToken.user_id == str(user_id), ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id.desc())
    )
    return list(session.scalars(stmt))
