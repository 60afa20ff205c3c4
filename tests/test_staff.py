"""Staff accounts, password hashing and API tokens (services and CLI)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from crm import staff
from crm.errors import AuthError, ValidationFailed
from crm.models import ApiToken, StaffUser
from tests.conftest import PASSWORD
from wsgi import db


def test_passwords_are_stored_as_argon2_hashes(session: Any) -> None:
    user = staff.create_user(session, "Ana@Example.org", PASSWORD, role="admin")
    assert user.email == "ana@example.org"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert staff.authenticate(session, "ANA@example.org", PASSWORD).id == user.id
    assert user.last_login_at is not None


@pytest.mark.parametrize(("email", "password"), [("ana@example.org", "wrong password"),
                                                 ("nobody@example.org", PASSWORD),
                                                 ("", "")])
def test_bad_credentials_say_the_same_thing(session: Any, email: str, password: str) -> None:
    staff.create_user(session, "ana@example.org", PASSWORD, role="viewer")
    with pytest.raises(AuthError, match="Wrong email or password"):
        staff.authenticate(session, email, password)


def test_disabled_accounts_cannot_log_in(session: Any) -> None:
    staff.create_user(session, "boss@example.org", PASSWORD, role="admin")
    user = staff.create_user(session, "ana@example.org", PASSWORD, role="viewer")
    staff.set_role(session, user, "viewer", active=False)
    with pytest.raises(AuthError):
        staff.authenticate(session, "ana@example.org", PASSWORD)


def test_account_rules(session: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        staff.create_user(session, "a@example.org", "short", role="admin")
    assert "at least 10" in info.value.errors["password"]
    with pytest.raises(ValidationFailed) as info:
        staff.create_user(session, "a@example.org", PASSWORD, role="superuser")
    assert "role" in info.value.errors
    admin = staff.create_user(session, "a@example.org", PASSWORD, role="admin")
    with pytest.raises(ValidationFailed) as info:
        staff.create_user(session, "A@example.org", PASSWORD, role="viewer")
    assert "already exists" in info.value.errors["email"]
    with pytest.raises(ValidationFailed) as info:
        staff.set_role(session, admin, "viewer", active=True)
    assert "at least one active admin" in info.value.errors["role"]


def test_change_password_checks_the_current_one(session: Any) -> None:
    user = staff.create_user(session, "ana@example.org", PASSWORD, role="viewer")
    with pytest.raises(ValidationFailed):
        staff.change_password(session, user, "not it", "a brand new password")
    staff.change_password(session, user, PASSWORD, "a brand new password")
    assert staff.authenticate(session, "ana@example.org", "a brand new password")


def test_tokens_are_shown_once_and_stored_hashed(session: Any) -> None:
    user = staff.create_user(session, "ana@example.org", PASSWORD, role="viewer")
    row, token = staff.issue_token(session, user.get_id(), name="forms")
    assert token.startswith("crm_") and len(token) > 40
    assert token not in {row.token_hash, row.prefix}
    assert staff.verify_token(session, token).id == row.id
    staff.revoke_token(session, row.id, user.get_id())
    with pytest.raises(AuthError):
        staff.verify_token(session, token)
    with pytest.raises(AuthError):
        staff.verify_token(session, token[:-1] + ("A" if token[-1] != "A" else "B"))


def test_cli_create_user_reads_password_from_stdin(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "create-user", "lead@example.org", "--role", "admin"],
                           input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "Created lead@example.org (admin)" in result.output
    with app.app_context():
        user = db.session.scalar(select(StaffUser))
        assert user is not None and user.role == "admin"
        assert staff.authenticate(db.session, "lead@example.org", PASSWORD)


def test_cli_create_user_refuses_a_weak_password(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["crm", "create-user", "x@example.org"],
                                          input="short\n")
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output


def test_cli_create_token_prints_a_working_token(app: Flask, staff_users: dict[str, str]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "create-token", staff_users["organizer"]])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = app.test_client().get("/crm/api/v1/me",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json == {"actor": "organizer@example.org", "role": "organizer"}
    with app.app_context():
        assert db.session.scalar(select(ApiToken.token_hash)) != token
    missing = runner.invoke(args=["crm", "create-token", "nobody@example.org"])
    assert missing.exit_code != 0 and "No staff account" in missing.output


def test_cli_ensure_admin_only_once(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["crm", "ensure-admin", "admin@example.org"])
    assert "with password:" in first.output
    password = first.output.split("with password:")[1].split()[0]
    with app.app_context():
        assert staff.authenticate(db.session, "admin@example.org", password).role == "admin"
    second = runner.invoke(args=["crm", "ensure-admin", "admin@example.org"])
    assert "no admin created" in second.output
