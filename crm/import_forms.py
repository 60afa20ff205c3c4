"""Forms of the import pages: the upload, and the column mapping with its options."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, Field, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import Length, Optional, ValidationError

from .imports.presets import FIELDS, IGNORE, PRESETS

FIELD_CHOICES = [SelectChoice(IGNORE, "— ignore —"),
                 *(SelectChoice(name, label) for name, label in FIELDS.items())]
PRESET_CHOICES = [SelectChoice(name, preset.label) for name, preset in PRESETS.items()]


class MaxSize:
    """Refuse an upload above a size, measured without reading it into memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form: FlaskForm, field: Field) -> None:
        """Check the size of the spooled upload."""
        stream = getattr(field.data, "stream", None)
        if stream is None:
            return
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
        if size > self.limit:
            raise ValidationError(f"The file is larger than {self.limit // 1_000_000} MB.")


class UploadForm(FlaskForm):
    """Upload a CSV file."""

    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")],
                     description="ActBlue and Mailchimp exports, union rosters, sign-in sheets.")

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Flask-WTF's FileSize reads the whole upload into memory; this only seeks.
        self.file.validators = [*self.file.validators, MaxSize(max_bytes)]


class PreviewForm(FlaskForm):
    """Choose the preset, map columns to fields and say what to apply to everyone."""

    preset = SelectField("Kind of file", choices=PRESET_CHOICES)
    tags = StringField("Tags for everyone in the file", validators=[Optional(), Length(max=500)],
                       description="Comma-separated, e.g. event:2026-05-rally")
    union = StringField("Union", validators=[Optional(), Length(max=100)],
                        description="For rosters without a Union column, e.g. AFSCME.")
    save_mapping = BooleanField("Save this mapping for files like this")
    mapping_name = StringField("Name of the saved mapping",
                               validators=[Optional(), Length(max=200)])
    apply_preset = SubmitField("Use this kind")
    dry_run = SubmitField("Dry run")
    start = SubmitField("Import")


def column_field(index: int) -> str:
    """Return the form field name of a column's select box."""
    return f"col_{index}"


def mapping_form(header: list[str], chosen: dict[str, str], **kwargs: Any) -> PreviewForm:
    """Return a preview form with one select per column, the chosen field preselected."""

    class Form(PreviewForm):
        pass

    for index, name in enumerate(header):
        setattr(Form, column_field(index), SelectField(name, choices=FIELD_CHOICES,
                                                       default=chosen.get(name, IGNORE)))
    return Form(**kwargs)


def read_mapping(form: PreviewForm, header: list[str]) -> dict[str, str]:
    """Return the column-to-field mapping the form holds."""
    return {name: getattr(form, column_field(i)).data or IGNORE for i, name in enumerate(header)}
