"""Request and response schemas of the campaign API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from crm.job_views import JobSchema

from .campaign_models import FORMATS, KINDS, STATUSES

ID_MAX = 2**31 - 1


class _Strict(Schema):
    class Meta:
        unknown = RAISE  # an unknown field is a 422, not silently dropped


class AskConfigSchema(Schema):
    """How a chip-in appeal turns each donor's giving into three asks (whole dollars)."""

    multipliers = fields.List(fields.Float(), metadata={"example": [1, 1.5, 2]})
    floor = fields.Integer()
    cap = fields.Integer()
    never_given = fields.List(fields.Integer(), metadata={"example": [10, 25, 50]})
    basis = fields.String(metadata={"description": "hpc (highest previous gift) or last."})


class CampaignFieldsSchema(_Strict):
    """The fields staff write; each is checked by the composing service."""

    name = fields.String(validate=validate.Length(max=200))
    subject = fields.String(validate=validate.Length(max=150))
    preview_text = fields.String(validate=validate.Length(max=150))
    from_name = fields.String(validate=validate.Length(max=100))
    reply_to = fields.String(validate=validate.Length(max=320))
    body = fields.String(validate=validate.Length(max=200_000))
    body_format = fields.String(validate=validate.OneOf(FORMATS))
    segment_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=ID_MAX))
    ask_config = fields.Dict(metadata={"description": "multipliers, floor, cap, never_given, "
                                                      "basis (see AskConfig)."})
    donate_url = fields.String(validate=validate.Length(max=500))
    skip_recent_days = fields.Integer(allow_none=True,
                                      validate=validate.Range(min=0, max=365),
                                      metadata={"description": "Leave out people a sent "
                                                               "campaign reached this many "
                                                               "days back; null or 0: none."})
    require_approval = fields.Boolean()


class CampaignCreateSchema(CampaignFieldsSchema):
    """A new draft: its kind and name; what is left out comes from the kind's starter."""

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CampaignListArgsSchema(_Strict):
    """Query string of the campaign list."""

    status = fields.String(load_default="", validate=validate.OneOf(("", *STATUSES)))
    kind = fields.String(load_default="", validate=validate.OneOf(("", *KINDS)))
    before_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=ID_MAX))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CampaignAudienceSchema(Schema):
    """Who the campaign goes to: the snapshot's counts (a draft's are worked out at ready)."""

    included = fields.Integer(allow_none=True)
    excluded = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "People left out, by reason."})
    taken_at = fields.String(allow_none=True)
    segment_total = fields.Integer(allow_none=True, metadata={
        "description": "A draft only: everyone in the segment now, before exclusions."})


class CampaignSchema(Schema):
    """A campaign: content, settings, status, timeline and Mailchimp ids."""

    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    subject = fields.String()
    preview_text = fields.String()
    from_name = fields.String()
    reply_to = fields.String()
    body = fields.String()
    body_format = fields.String()
    segment_id = fields.Integer(allow_none=True)
    segment_name = fields.String(allow_none=True)
    ask_config = fields.Nested(AskConfigSchema)
    donate_url = fields.String()
    refcode = fields.String()
    skip_recent_days = fields.Integer(allow_none=True)
    require_approval = fields.Boolean()
    status = fields.String(metadata={"description": ", ".join(STATUSES)})
    created_by = fields.String()
    created_at = fields.DateTime()
    ready_by = fields.String(allow_none=True)
    ready_at = fields.DateTime(allow_none=True)
    approved_by = fields.String(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    send_at = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    failure = fields.String(allow_none=True)
    audience = fields.Dict()
    mc_campaign_id = fields.String(allow_none=True)
    mc_status = fields.String(allow_none=True, metadata={
        "description": "Mailchimp's status for the campaign, as last heard."})
    emails_sent = fields.Integer(allow_none=True, metadata={
        "description": "How many emails Mailchimp sent, once it says it sent the campaign."})
    mc_segment_id = fields.Integer(allow_none=True)
    send_step = fields.String(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    job = fields.Nested(JobSchema, allow_none=True)


class CampaignPageSchema(Schema):
    """A page of campaigns, newest first."""

    items = fields.List(fields.Nested(CampaignSchema))
    next_before_id = fields.Integer(allow_none=True, metadata={
        "description": "Pass as before_id for the next page; null on the last."})


class CampaignSendSchema(_Strict):
    """Send now, or at send_at (a UTC quarter hour at least 15 minutes ahead)."""

    send_at = fields.DateTime(load_default=None, allow_none=True)


class CampaignScheduleSchema(_Strict):
    """When Mailchimp sends it: ISO 8601 with its zone, on a UTC quarter hour."""

    send_at = fields.DateTime(required=True, metadata={"example": "2026-11-29T15:30:00Z"})


class CampaignPreviewArgsSchema(_Strict):
    """Whom to preview the email as."""

    contact_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=ID_MAX),
                                metadata={"description": "Default: the first recipient (or "
                                                         "the first in the segment)."})


class CampaignPreviewSchema(Schema):
    """One contact's email, exactly as Mailchimp will fill it in."""

    contact_id = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True)
    subject = fields.String()
    html = fields.String()
    text = fields.String()
    values = fields.Dict(keys=fields.String(), values=fields.String())
    in_snapshot = fields.Boolean()
    excluded_reason = fields.String()
    problems = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "A draft only: what stops it from being marked ready, by field."})
