"""Request and response schemas of the Mailchimp sync API."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm.job_views import JobSchema

ID_MAX = 2**31 - 1


class MailchimpSyncCreateSchema(Schema):
    """Start a sync: its dry run by default, or a push straight away."""

    segment_id = fields.Integer(load_default=None, allow_none=True,
                                validate=validate.Range(min=1, max=ID_MAX),
                                metadata={"description": "A saved segment; leave out for "
                                                         "everyone subscribed."})
    dry_run = fields.Boolean(load_default=True, metadata={
        "description": "True (the default) plans and changes nothing in Mailchimp; false "
                       "pushes at once."})


class MailchimpSyncSchema(Schema):
    """A sync with its plan, what the push did so far and its latest job."""

    id = fields.Integer()
    audience_id = fields.String()
    scope = fields.String(metadata={"description": "emailable (everyone subscribed) or "
                                                   "segment."})
    segment_id = fields.Integer(allow_none=True)
    segment_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "planning, planned, syncing, synced, "
                                                    "stopped or failed."})
    plan = fields.Dict(metadata={"description": "The dry run: counts (add, update, unchanged, "
                                                "skip), reasons, samples, tags, to_push, "
                                                "merge_fields."})
    counts = fields.Dict(metadata={"description": "What the push did: added, updated, "
                                                  "unchanged, skipped, errors, calls…"})
    cursor = fields.Integer(metadata={"description": "The last contact id pushed; a resume "
                                                     "goes on after it."})
    created_by = fields.String()
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    job_id = fields.Integer(allow_none=True)
    job = fields.Nested(JobSchema, allow_none=True)


class MailchimpReviewArgsSchema(Schema):
    """Query string of the review queue."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    sync_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=ID_MAX))


class MailchimpReviewItemSchema(Schema):
    """A member Mailchimp refused, waiting for staff."""

    id = fields.Integer()
    sync_id = fields.Integer(allow_none=True)
    contact_id = fields.Integer(allow_none=True)
    email = fields.String()
    code = fields.String()
    field = fields.String()
    message = fields.String()
    created_at = fields.DateTime()


class MailchimpReviewPageSchema(Schema):
    """One page of open review items, newest first."""

    items = fields.List(fields.Nested(MailchimpReviewItemSchema))
    total = fields.Integer(metadata={"description": "Open items in all."})
    page = fields.Integer()
    per_page = fields.Integer()
    next_page = fields.Integer(allow_none=True, metadata={"description": "Null on the last "
                                                                         "page."})
