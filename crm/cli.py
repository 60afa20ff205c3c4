"""The ``flask crm`` commands: staff accounts, API tokens and demo data."""

from __future__ import annotations

import secrets
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from . import staff
from .current import db_session as _session
from .errors import ValidationFailed
from .models import Contact, StaffUser

crm_cli = AppGroup("crm", help="Manage the contact CRM.")



def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    # Piped in (scripts, CI): the first line of standard input is the password.
    return sys.stdin.readline().rstrip("\r\n")


@crm_cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "organizer", "viewer"]), default="viewer",
              show_default=True)
@click.option("--name", default="", help="Display name.")
def create_user(email: str, role: str, name: str) -> None:
    """Create a staff account; the password is read from a prompt or stdin."""
    _require_builtin()
    password = _read_password()
    try:
        user = staff.create_user(_session(), email, password, role=role, name=name)
    except ValidationFailed as exc:
        _session().rollback()
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.errors.items())) from None
    _session().commit()
    click.echo(f"Created {user.email} ({user.role}).")


@crm_cli.command("create-token")
@click.argument("user")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
def create_token(user: str, name: str) -> None:
    """Print a new API token for USER (an email, or the host's user id as a plugin)."""
    state = current_app.extensions["crm"]
    if state.builtin_accounts:
        account = staff.find_user(_session(), user)
        if account is None:
            raise click.ClickException(f"No staff account {user}.")
        user_id = account.get_id()
    else:
        if state.user_loader(user) is None:
            raise click.ClickException(f"The host app has no user with id {user}.")
        user_id = user
    _row, token = staff.issue_token(_session(), user_id, name=name)
    _session().commit()
    click.echo(token)


@crm_cli.command("ensure-admin")
@click.argument("email")
def ensure_admin(email: str) -> None:
    """Create an admin with a random password if there are no staff accounts yet."""
    _require_builtin()
    if _session().scalar(select(func.count()).select_from(StaffUser)):
        click.echo("Staff accounts exist already; no admin created.")
        return
    password = secrets.token_urlsafe(12)
    staff.create_user(_session(), email, password, role="admin", name="Admin")
    _session().commit()
    click.echo(f"Created admin {email} with password: {password}")
    click.echo("Write it down: it is shown only this once.")


@crm_cli.command("demo")
@click.option("--contacts", "count", default=5000, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=2026, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when contacts exist already.")
def demo(count: int, seed: int, if_empty: bool) -> None:
    """Load demo contacts that look like a state progressive organization."""
    from . import demo as demo_data

    if if_empty and _session().scalar(select(func.count()).select_from(Contact)):
        click.echo("Contacts exist already; demo data not loaded.")
        return
    try:
        created = demo_data.load(_session(), count=count, seed=seed)
    except Exception:
        _session().rollback()
        raise
    _session().commit()
    click.echo(f"Loaded {created} demo contacts.")


def _require_builtin() -> None:
    if not current_app.extensions["crm"].builtin_accounts:
        raise click.ClickException(
            "This app uses the host's accounts (CRM_BUILTIN_ACCOUNTS is off)."
        )


def register(app: Flask) -> None:
    """Add the ``crm`` command group to the app's CLI."""
    app.cli.add_command(crm_cli)
