"""WTForms of donations, union memberships and groups; checks reuse the services' rules."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, EmailField, Field, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .groups import DESCRIPTION_MAX, NAME_MAX
from .memberships import LIMITS
from .models import MEMBERSHIP_STATUSES
from .money import parse_dollars


class DonationForm(FlaskForm):
    """Add or edit a gift; the amount is typed in dollars and stored in cents."""

    amount = StringField("Amount ($)", validators=[DataRequired(), Length(max=20)],
                         render_kw={"inputmode": "decimal", "placeholder": "25.00"})
    received_on = DateField("Date", validators=[DataRequired()], default=date.today)
    recurring = BooleanField("Recurring")
    refcode = StringField("Refcode", validators=[Optional(), Length(max=100)],
                          description="The source code of the ask, e.g. em-2024-05.")

    def validate_amount(self, field: Field) -> None:
        """Check the amount is dollars and cents above zero."""
        try:
            parse_dollars(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def to_data(self) -> dict[str, Any]:
        """Return the fields as the donation service takes them (without the date)."""
        return {"amount_cents": parse_dollars(self.amount.data),
                "recurring": bool(self.recurring.data),
                "refcode": self.refcode.data or None}


class MembershipForm(FlaskForm):
    """Add or edit a union membership."""

    union_name = StringField("Union", validators=[DataRequired(),
                                                  Length(max=LIMITS["union_name"])])
    local = StringField("Local", validators=[Optional(), Length(max=LIMITS["local"])])
    member_id = StringField("Member id", validators=[Optional(), Length(max=LIMITS["member_id"])])
    status = SelectField("Status", choices=list(MEMBERSHIP_STATUSES), default="active")
    worksite = StringField("Worksite", validators=[Optional(), Length(max=LIMITS["worksite"])])
    since = DateField("Member since", validators=[Optional()])

    def to_data(self) -> dict[str, Any]:
        """Return the fields as the membership service takes them."""
        return {name: getattr(self, name).data or None
                for name in ("union_name", "local", "member_id", "status", "worksite", "since")}


class GroupForm(FlaskForm):
    """Create a group."""

    name = StringField("Name", validators=[DataRequired(), Length(max=NAME_MAX)])
    description = StringField("Description", validators=[Optional(),
                                                         Length(max=DESCRIPTION_MAX)])


class RenameGroupForm(FlaskForm):
    """Rename a group."""

    name = StringField("New name", validators=[DataRequired(), Length(max=NAME_MAX)])


class MemberEmailForm(FlaskForm):
    """Add a contact to a group by their email."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])


class ContactGroupForm(FlaskForm):
    """Put the contact on the page in a group chosen from a list."""

    group_id = SelectField("Group", coerce=int, choices=[], validate_choice=False)
