"""WTForms for the Mailchimp pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, URLField
from wtforms.validators import DataRequired, Length, Optional, Regexp


class SyncForm(FlaskForm):
    """Start a sync: everyone subscribed, or a saved segment (the select's value)."""

    segment = StringField("Segment", validators=[
        Optional(), Regexp(r"^[0-9]{1,9}$", message="Choose a saved segment from the list.")])

    def segment_id(self) -> int | None:
        """Return the chosen segment's id, or None for everyone subscribed."""
        return int(self.segment.data) if self.segment.data else None


class WebhookForm(FlaskForm):
    """Register the webhook in Mailchimp under the address Mailchimp can reach us at."""

    base_url = URLField("Public address of this CRM", validators=[
        DataRequired(), Length(max=300),
        Regexp(r"^https?://[^\s?#]+$", message="An address starting with https://, "
               "such as https://crm.example.org.")],
        description="Mailchimp calls the webhook there; it must reach this server.")


class DismissForm(FlaskForm):
    """Close a review item, with an optional note of what was done."""

    note = StringField("Note", validators=[Optional(), Length(max=200)],
                       render_kw={"placeholder": "Note (optional)"})
