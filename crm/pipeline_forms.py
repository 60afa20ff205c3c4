"""WTForms of the recruitment pipeline: add a recruit, move them, edit their details."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from .models import OFFICES, STAGES
from .pipeline import MAX_LENGTHS, OFFICE_LABELS, STAGE_LABELS

STAGE_CHOICES = [SelectChoice(s, STAGE_LABELS[s]) for s in STAGES]
OFFICE_CHOICES = [SelectChoice("", "—")] + [SelectChoice(o, OFFICE_LABELS[o]) for o in OFFICES]


class DetailsForm(FlaskForm):
    """A recruit's target office, jurisdiction and owner; the owner is free text."""

    office = SelectField("Target office", choices=OFFICE_CHOICES, default="")
    jurisdiction = StringField(
        "Jurisdiction", validators=[Optional(), Length(max=MAX_LENGTHS["jurisdiction"])],
        description="e.g. Madison Metropolitan School District")
    owner = StringField("Owner", validators=[Optional(), Length(max=MAX_LENGTHS["owner"])],
                        description="The staff member who works with this recruit.")

    def set_owner_choices(self, staff: list[tuple[str, str]] | None,
                          keep: str | None = None) -> None:
        """Offer the staff accounts as owners (no-op for the free-text owner)."""

    def to_data(self) -> dict[str, Any]:
        """Return the fields as the pipeline service takes them."""
        return {"office": self.office.data or None, "jurisdiction": self.jurisdiction.data,
                "owner": self.owner.data}


class StaffDetailsForm(DetailsForm):
    """The details form where the owner is picked among the staff accounts."""

    owner = SelectField("Owner", choices=[SelectChoice("", "—")], default="")

    def set_owner_choices(self, staff: list[tuple[str, str]] | None,
                          keep: str | None = None) -> None:
        """Offer the staff accounts, and ``keep`` the current owner if no longer among them."""
        choices = [SelectChoice("", "—")] + [SelectChoice(e, label) for e, label in staff or []]
        if keep and keep not in {c.value for c in choices}:
            choices.append(SelectChoice(keep, keep))
        self.owner.choices = choices


class AddForm(DetailsForm):
    """Put a contact in the pipeline."""

    stage = SelectField("Stage", choices=STAGE_CHOICES, default="prospect")

    def to_data(self) -> dict[str, Any]:
        """Return the fields, the stage included."""
        return {**super().to_data(), "stage": self.stage.data}


class StaffAddForm(AddForm, StaffDetailsForm):
    """Put a contact in the pipeline, picking the owner among the staff accounts."""


class MoveForm(FlaskForm):
    """Move a recruit to another stage."""

    stage = SelectField("Move to", choices=STAGE_CHOICES)
    note = StringField("Note", validators=[Optional(), Length(max=MAX_LENGTHS["note"])])


def details_form(staff: list[tuple[str, str]] | None, *, add: bool = False,
                 keep: str | None = None, **kwargs: Any) -> DetailsForm:
    """Build the add or details form: an owner select when staff accounts are given."""
    if staff is None:
        form: DetailsForm = AddForm(**kwargs) if add else DetailsForm(**kwargs)
    else:
        form = StaffAddForm(**kwargs) if add else StaffDetailsForm(**kwargs)
    form.set_owner_choices(staff, keep)
    return form
