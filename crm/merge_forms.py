"""The merge screen's form: one survivor-or-duplicate choice per field."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice

from .merge import CHOOSABLE


def merge_form(survivor: Any, duplicate: Any, formdata: Any = None) -> FlaskForm:
    """Build a form with a radio per field, defaulting to the survivor unless it is empty."""

    class MergeForm(FlaskForm):
        pass

    for name in CHOOSABLE:
        default = ("duplicate" if not getattr(survivor, name) and getattr(duplicate, name)
                   else "survivor")
        setattr(MergeForm, name, RadioField(
            name, choices=[SelectChoice("survivor"), SelectChoice("duplicate")], default=default))
    return MergeForm(formdata=formdata) if formdata is not None else MergeForm()
