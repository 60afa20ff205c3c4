"""WTForms of saved segments; the rule itself is checked by the segment engine on save."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .segments.limits import MAX_TEXT
from .segments.service import DESCRIPTION_MAX, NAME_MAX


class SegmentForm(FlaskForm):
    """Save a segment: its name, a description and the query as text."""

    name = StringField("Name", validators=[DataRequired(), Length(max=NAME_MAX)],
                       render_kw={"placeholder": "Dane County donors"})
    description = TextAreaField("Description", validators=[Optional(),
                                                           Length(max=DESCRIPTION_MAX)],
                                render_kw={"rows": 1})
    text = TextAreaField("Query", validators=[Length(max=MAX_TEXT)],
                         render_kw={"rows": 3, "spellcheck": "false", "autocomplete": "off",
                                    "autocapitalize": "off"})

    def to_data(self) -> dict[str, Any]:
        """Return the fields as the segment service takes them."""
        return {"name": self.name.data or "", "description": self.description.data or None,
                "text": self.text.data or ""}
