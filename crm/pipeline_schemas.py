"""Marshmallow schemas of the pipeline API: recruits, their stage history and the board."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .models import OFFICES, STAGES
from .pipeline import MAX_LENGTHS


class RecruitmentPutSchema(Schema):
    """What a client sends to put a contact in the pipeline or change their record."""

    stage = fields.String(validate=validate.OneOf(STAGES),
                          metadata={"description": "A new recruit starts as a prospect."})
    office = fields.String(allow_none=True, validate=validate.OneOf(OFFICES),
                           metadata={"description": "The office they aim for."})
    jurisdiction = fields.String(allow_none=True,
                                 validate=validate.Length(max=MAX_LENGTHS["jurisdiction"]),
                                 metadata={"description": "e.g. Madison Metropolitan "
                                                          "School District"})
    owner = fields.String(allow_none=True, validate=validate.Length(max=MAX_LENGTHS["owner"]),
                          metadata={"description": "The staff member who works with them."})
    note = fields.String(allow_none=True, validate=validate.Length(max=MAX_LENGTHS["note"]),
                         metadata={"description": "Kept with the stage change, if any."})


class RecruitmentSchema(Schema):
    """A contact's place in the pipeline."""

    contact_id = fields.Integer()
    stage = fields.String()
    office = fields.String(attribute="target_office", allow_none=True)
    jurisdiction = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class StageChangeSchema(Schema):
    """One move between stages; ``from_stage`` is null when they entered the pipeline."""

    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()
    actor = fields.String()
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class HistorySchema(Schema):
    """A contact's stage changes, newest first."""

    items = fields.List(fields.Nested(StageChangeSchema))


class StageCountSchema(Schema):
    """How many recruits stand at a stage."""

    stage = fields.String()
    label = fields.String()
    count = fields.Integer()


class PipelineSchema(Schema):
    """The board's counts, one per stage in pipeline order."""

    stages = fields.List(fields.Nested(StageCountSchema))
    total = fields.Integer()
