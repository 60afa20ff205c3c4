"""Built-in staff accounts: login, logout, password, API tokens and (for admins) users."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from . import staff
from .access import require
from .current import db_session as _session
from .errors import AuthError, CRMError, ValidationFailed
from .forms import ConfirmForm, EditUserForm, LoginForm, NewUserForm, PasswordForm, TokenForm
from .templating import template_folder
from .views import error_page

accounts_bp = Blueprint("crm_accounts", __name__, template_folder=template_folder())


# The same error pages as the contact pages.
accounts_bp.register_error_handler(403, error_page)
accounts_bp.register_error_handler(404, error_page)



def _safe_next(target: str | None) -> str:
    # Only follow a relative path back into this site after login (no open redirect).
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("crm.contact_list")


def _errors_to_form(form: Any, exc: ValidationFailed) -> None:
    for name, message in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")


@accounts_bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log a staff member in."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = staff.authenticate(_session(), form.email.data or "", form.password.data or "")
            _session().commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        except AuthError as exc:
            _session().rollback()
            flash(exc.message, "danger")
    status = 401 if request.method == "POST" else 200
    return render_template("crm/accounts/login.html", form=form), status


@accounts_bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    """Log out."""
    if ConfirmForm().validate_on_submit():
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("crm_accounts.login"))


@accounts_bp.route("/account", methods=["GET", "POST"])
@require("view")
def account() -> ResponseReturnValue:
    """Change one's password and manage one's API tokens."""
    form = PasswordForm()
    token_form = TokenForm(prefix="token")
    if form.validate_on_submit():
        try:
            staff.change_password(_session(), current_user, form.current_password.data or "",
                                  form.new_password.data or "")
            _session().commit()
            flash("Password changed.", "success")
            return redirect(url_for("crm_accounts.account"))
        except ValidationFailed as exc:
            _session().rollback()
            _errors_to_form(form, exc)
    tokens = staff.tokens_for(_session(), current_user.get_id())
    status = 422 if request.method == "POST" else 200
    return render_template("crm/accounts/account.html", form=form, token_form=token_form,
                           tokens=tokens, new_token=None, confirm=ConfirmForm()), status


@accounts_bp.route("/account/tokens", methods=["POST"])
@require("view")
def token_create() -> ResponseReturnValue:
    """Create an API token and show it once."""
    token_form = TokenForm(prefix="token")
    if not token_form.validate_on_submit():
        flash("Give the token a label (at most 100 characters).", "danger")
        return redirect(url_for("crm_accounts.account"))
    _row, token = staff.issue_token(_session(), current_user.get_id(),
                                    name=token_form.name.data or "")
    _session().commit()
    tokens = staff.tokens_for(_session(), current_user.get_id())
    response = current_app.make_response(render_template(
        "crm/accounts/account.html", form=PasswordForm(formdata=None),
        token_form=TokenForm(prefix="token", formdata=None), tokens=tokens, new_token=token,
        confirm=ConfirmForm()))
    response.headers["Cache-Control"] = "no-store"
    return response


@accounts_bp.route("/account/tokens/<int(max=2147483647):token_id>/revoke", methods=["POST"])
@require("view")
def token_revoke(token_id: int) -> ResponseReturnValue:
    """Revoke one of one's own API tokens."""
    if ConfirmForm().validate_on_submit():
        try:
            staff.revoke_token(_session(), token_id, current_user.get_id())
            _session().commit()
            flash("Token revoked.", "success")
        except CRMError:
            abort(404)
    return redirect(url_for("crm_accounts.account"))


@accounts_bp.route("/admin/users", methods=["GET", "POST"])
@require("manage_users")
def users() -> ResponseReturnValue:
    """List staff accounts and create new ones."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = staff.create_user(_session(), form.email.data or "", form.password.data or "",
                                     role=form.role.data or "viewer", name=form.name.data or "")
            _session().commit()
            flash(f"Created {user.email} as {user.role}.", "success")
            return redirect(url_for("crm_accounts.users"))
        except ValidationFailed as exc:
            _session().rollback()
            _errors_to_form(form, exc)
    status = 422 if request.method == "POST" else 200
    return render_template("crm/accounts/users.html", form=form,
                           users=staff.list_users(_session()), edit_form=EditUserForm), status


@accounts_bp.route("/admin/users/<int(max=2147483647):user_id>", methods=["POST"])
@require("manage_users")
def user_update(user_id: int) -> ResponseReturnValue:
    """Change a staff account's role or whether it can log in."""
    try:
        user = staff.get_user(_session(), user_id)
    except CRMError:
        abort(404)
    form = EditUserForm()
    if form.validate_on_submit():
        try:
            staff.set_role(_session(), user, form.role.data or user.role, active=form.active.data)
            _session().commit()
            flash(f"Updated {user.email}.", "success")
        except ValidationFailed as exc:
            _session().rollback()
            flash("; ".join(exc.errors.values()), "danger")
    return redirect(url_for("crm_accounts.users"))
