"""WTForms for the campaign pages: new, the composer, schedule and test sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from .campaign_models import KIND_LABELS, Campaign

FORMAT_CHOICES = [SelectChoice("markdown", "Markdown"), SelectChoice("html", "HTML")]
BASIS_CHOICES = [SelectChoice("hpc", "Highest previous gift (HPC)"),
                 SelectChoice("last", "Most recent gift")]
# The service names the ask settings "ask_config.<name>"; the form has one field each.
ASK_FIELDS = {"multipliers": "ask_multipliers", "floor": "ask_floor", "cap": "ask_cap",
              "never_given": "ask_never_given", "basis": "ask_basis"}
CONTENT_FIELDS = ("name", "subject", "preview_text", "from_name", "reply_to", "segment_id",
                  "body_format", "body", "donate_url", "skip_recent_days", "require_approval")


def _numbers(values: Any) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values or ())


class NewCampaignForm(FlaskForm):
    """Start a campaign: its kind and a name staff will recognise."""

    kind = SelectField("Kind", choices=[SelectChoice(k, label) for k, label in KIND_LABELS.items()],
                       default="general")
    name = StringField("Name", validators=[DataRequired(message="Give the campaign a name."),
                                           Length(max=200)],
                       description="For staff only; recipients see the subject line.",
                       render_kw={"placeholder": "e.g. November chip-in, members"})


class CampaignForm(FlaskForm):
    """The composer: everything a draft's email and audience are made of."""

    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    subject = StringField("Subject line", validators=[Length(max=150)])
    preview_text = StringField("Preview text", validators=[Length(max=150)],
                               description="The line inboxes show after the subject.")
    from_name = StringField("From name", validators=[Length(max=100)])
    reply_to = StringField("Reply-to address", validators=[Length(max=320)])
    segment_id = SelectField("Segment", choices=[], validate_choice=False)
    body_format = SelectField("Body format", choices=FORMAT_CHOICES, default="markdown")
    body = TextAreaField("Body", validators=[Length(max=200_000)],
                         render_kw={"rows": 18, "spellcheck": "true"})
    donate_url = StringField("Donation page", validators=[Length(max=500)],
                             description="ActBlue or any donation page; the refcode and the "
                                         "amount are added to each link.")
    ask_multipliers = StringField("Ask multipliers", validators=[Length(max=60)],
                                  description="Three, times the donor's basis gift: 1, 1.5, 2.")
    ask_floor = StringField("Lowest ask ($)", validators=[Length(max=10)])
    ask_cap = StringField("Highest ask ($)", validators=[Length(max=10)])
    ask_never_given = StringField("Asks for people who never gave ($)",
                                  validators=[Length(max=60)])
    ask_basis = SelectField("Base the asks on", choices=BASIS_CHOICES, default="hpc")
    skip_recent_days = StringField(
        "Skip people emailed in the last … days", validators=[Optional(), Length(max=4)],
        description="Leave empty to email everyone in the segment.")
    require_approval = BooleanField("Needs a second organizer's approval before sending")

    def fill(self, campaign: Campaign) -> None:
        """Show a campaign's saved values (used on GET)."""
        for name in CONTENT_FIELDS:
            value = getattr(campaign, name)
            getattr(self, name).data = "" if value is None else (
                value if name == "require_approval" else str(value))
        ask = campaign.ask_config or {}
        self.ask_multipliers.data = _numbers(ask.get("multipliers"))
        self.ask_never_given.data = _numbers(ask.get("never_given"))
        self.ask_floor.data = str(ask.get("floor", ""))
        self.ask_cap.data = str(ask.get("cap", ""))
        self.ask_basis.data = ask.get("basis", "hpc")

    def service_data(self, kind: str) -> dict[str, Any]:
        """Return what the composing service takes, as submitted (it checks the values)."""
        data: dict[str, Any] = {name: getattr(self, name).data for name in CONTENT_FIELDS}
        data["require_approval"] = bool(self.require_approval.data)
        if kind == "chip_in":
            data["ask_config"] = {key: getattr(self, field).data or ""
                                  for key, field in ASK_FIELDS.items()}
        else:
            data.pop("donate_url")  # only chip-in appeals show (and send) these
        return data

    def field_for(self, key: str) -> Any | None:
        """Return the form field a service error key belongs to, if any."""
        if key.startswith("ask_config."):
            key = ASK_FIELDS.get(key.removeprefix("ask_config."), "")
        return getattr(self, key, None) if key in self._fields else None


class ScheduleForm(FlaskForm):
    """Schedule the send: a UTC date and time on the quarter hour."""

    send_at = DateTimeLocalField("Send at (UTC)", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                 validators=[DataRequired(message="Pick a date and a time.")],
                                 render_kw={"step": 900})

    def when(self) -> datetime:
        """Return the chosen moment as an aware UTC datetime."""
        moment: datetime = self.send_at.data
        return moment.replace(tzinfo=UTC)


class TestSendForm(FlaskForm):
    """Send a test to a few staff addresses."""

    __test__ = False  # not a test case, whatever its name says
    emails = StringField("Send a test to", validators=[DataRequired(
        message="Give at least one address."), Length(max=1700)],
        description="Up to 5 addresses, separated by commas.",
        render_kw={"placeholder": "you@example.org, a.colleague@example.org",
                   "autocomplete": "email"})
