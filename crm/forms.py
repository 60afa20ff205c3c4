"""WTForms for the CRM pages; field checks reuse the same normalisers as the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from .models import EMAIL_STATUSES, ROLES
from .validation import (
    MAX_LENGTHS,
    US_STATES,
    normalize_email,
    normalize_phone,
    normalize_state,
    normalize_zip,
)


def _check(normaliser: Callable[[str], Any]) -> Callable[[FlaskForm, Field], None]:
    def validator(form: FlaskForm, field: Field) -> None:
        if field.data:
            try:
                normaliser(field.data)
            except ValueError as exc:
                raise ValidationError(str(exc)) from None

    return validator


def _length(name: str) -> Length:
    return Length(max=MAX_LENGTHS[name])


STATE_CHOICES = [SelectChoice("", "—")] + [SelectChoice(code) for code in sorted(US_STATES)]


class ContactForm(FlaskForm):
    """Create or edit a contact."""

    email = EmailField("Email", validators=[DataRequired(), _check(normalize_email)])
    first_name = StringField("First name", validators=[Optional(), _length("first_name")])
    last_name = StringField("Last name", validators=[Optional(), _length("last_name")])
    phone = StringField("Phone", validators=[Optional(), _check(normalize_phone)],
                        description="US numbers need no +1.")
    street = StringField("Street", validators=[Optional(), _length("street")])
    city = StringField("City", validators=[Optional(), _length("city")])
    state = SelectField("State", choices=STATE_CHOICES, default="",
                        validators=[_check(normalize_state)])
    zip = StringField("ZIP", validators=[Optional(), _check(normalize_zip)])
    county = StringField("County", validators=[Optional(), _length("county")])
    employer = StringField("Employer", validators=[Optional(), _length("employer")])
    occupation = StringField("Occupation", validators=[Optional(), _length("occupation")])
    source = StringField("Source", validators=[Optional(), _length("source")],
                         description="Where this contact came from, e.g. rally sign-in sheet.")
    email_status = SelectField(
        "Email status", choices=[SelectChoice(s) for s in EMAIL_STATUSES], default="subscribed",
        description="A change is recorded in the consent history with your name.")
    tags = StringField("Tags", validators=[Optional(), Length(max=2000)],
                       description="Comma-separated, e.g. union-member, tax fairness")
    custom_fields = TextAreaField(
        "Custom fields", validators=[Optional(), Length(max=20000)],
        description="One per line as name: value",
    )

    def validate_custom_fields(self, field: Field) -> None:
        """Check every custom-field line has a name and a colon."""
        try:
            parse_custom_lines(field.data or "")
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def to_data(self) -> dict[str, Any]:
        """Return the fields as the contact service takes them."""
        data: dict[str, Any] = {
            name: getattr(self, name).data or ""
            for name in ("email", "first_name", "last_name", "phone", "street", "city", "state",
                         "zip", "county", "employer", "occupation", "source", "email_status",
                         "tags")
        }
        data["custom_fields"] = parse_custom_lines(self.custom_fields.data or "")
        return data


def parse_custom_lines(text: str) -> dict[str, str]:
    """Parse ``name: value`` lines into a dict."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"Line {number}: write it as name: value")
        out[name.strip()] = value.strip()
    return out


def format_custom_lines(values: dict[str, Any]) -> str:
    """Turn custom fields back into ``name: value`` lines."""
    return "\n".join(f"{k}: {'' if v is None else v}" for k, v in (values or {}).items())


class NoteForm(FlaskForm):
    """Add a note to a contact."""

    body = TextAreaField("Note", validators=[DataRequired(), Length(max=10000)])


class TagForm(FlaskForm):
    """Add a tag to a contact."""

    name = StringField("Tag", validators=[DataRequired(), Length(max=100)])


class ConfirmForm(FlaskForm):
    """A button-only form (delete, restore, remove tag): the CSRF token is its content."""


class LoginForm(FlaskForm):
    """Staff login."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=320)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    """Change one's own password."""

    current_password = PasswordField("Current password", validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("New password",
                                 validators=[DataRequired(), Length(min=10, max=1024)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "Does not match.")],
                            render_kw={"autocomplete": "new-password"})


class NewUserForm(FlaskForm):
    """An admin creates a staff account."""

    email = EmailField("Email", validators=[DataRequired(), _check(normalize_email)])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice(r) for r in ROLES], default="viewer")
    password = PasswordField("Initial password", validators=[DataRequired(), Length(min=10,
                                                                                    max=1024)])


class EditUserForm(FlaskForm):
    """An admin changes a staff account's role or access."""

    role = SelectField("Role", choices=[SelectChoice(r) for r in ROLES])
    active = BooleanField("Can log in")


class TokenForm(FlaskForm):
    """Create an API token."""

    name = StringField("Label", validators=[DataRequired(), Length(max=100)],
                       description="What the token is for, e.g. signup form sync")
