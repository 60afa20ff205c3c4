"""The landing page's form: the answer, and the nomination's fields when nominating."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from crm.models import OFFICES
from crm.pipeline import OFFICE_LABELS

from .campaign_models import ANSWERS
from .responses import NAME_MAX, WHY_MAX

# The ``?answer=`` values in the email's links, and the answer each one points at.
LINK_ANSWERS = {"yes": "interested", "not-now": "declined", "nominate": "nominated"}
OFFICE_CHOICES = [SelectChoice("", "Not sure yet"),
                  *(SelectChoice(o, OFFICE_LABELS.get(o, o)) for o in OFFICES)]


class ResponseForm(FlaskForm):
    """One answer: yes, not now, or a nomination with who and why.

    The fields only check shape and length; the responses service has the last word (a
    valid email, a real phone number) and its errors are put back on these fields.
    """

    choice = StringField(validators=[InputRequired(), AnyOf(ANSWERS, message="Choose an answer.")])
    name = StringField("Their name", validators=[Optional(), Length(max=NAME_MAX)])
    email = EmailField("Their email", validators=[Optional(), Length(max=320)])
    phone = TelField("Their phone (optional)", validators=[Optional(), Length(max=40)])
    office = SelectField("Office they could run for", choices=OFFICE_CHOICES, default="",
                         validate_choice=True)
    why = TextAreaField("Why they would be great (optional)",
                        validators=[Optional(), Length(max=WHY_MAX)])

    def nomination(self) -> dict[str, Any]:
        """Return the nomination's fields as the service takes them."""
        return {"name": self.name.data or "", "email": self.email.data or "",
                "phone": self.phone.data or "", "office": self.office.data or "",
                "why": self.why.data or ""}
