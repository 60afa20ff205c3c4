"""Who is asking and what they may do: roles, permissions and the view guards."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g
from flask_login import current_user

F = TypeVar("F", bound=Callable[..., Any])

# What each permission needs. Admins manage users and settings; organizers edit
# contacts and (later) build segments and send; viewers only read.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset({"admin", "organizer", "viewer"}),
    "edit": frozenset({"admin", "organizer"}),
    "manage_users": frozenset({"admin"}),
}
# Where a 403 would tell a user that a thing exists, answer 404 instead.
HIDDEN = frozenset({"manage_users"})


def builtin_role(user: Any) -> str | None:
    """Return a built-in staff account's role."""
    return getattr(user, "role", None)


def host_role(user: Any) -> str | None:
    """Default role hook for host apps: a ``crm_role`` attribute on the host's user."""
    return getattr(user, "crm_role", None)


def current_staff() -> Any | None:
    """Return the authenticated user of this request (API token or session), if any."""
    api_user = g.get("crm_api_user")
    if api_user is not None:
        return api_user
    if current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def role_of(user: Any) -> str | None:
    """Return the CRM role of a user through the configured role hook."""
    if user is None:
        return None
    role = current_app.extensions["crm"].role_loader(user)
    return role if role in PERMISSIONS["view"] else None


def can(permission: str, user: Any | None = None) -> bool:
    """Tell whether the user (default: the current one) holds a permission."""
    who = user if user is not None else current_staff()
    return role_of(who) in PERMISSIONS[permission]


def actor_label(user: Any | None = None) -> str:
    """Return how the audit log names a user: their email, else their id."""
    who = user if user is not None else current_staff()
    if who is None:
        return "system"
    return str(getattr(who, "email", None) or f"user:{who.get_id()}")


def require(permission: str) -> Callable[[F], F]:
    """Guard a page: log in first, then hold the permission (else 403, or 404 where hidden)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_staff()
            if user is None:
                return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
            if not can(permission, user):
                abort(404 if permission in HIDDEN else 403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator
