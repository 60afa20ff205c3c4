"""Marshmallow schemas of the segment API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .segments.service import DESCRIPTION_MAX, NAME_MAX

RULES_HELP = ('The rule as JSON: {"all": [...]}, {"any": [...]}, {"not": rule}, '
              '{"field": "donations.total", "op": ">=", "value": 50}, {"tag": "union-member"} '
              'or {"group": "Phone bank crew"}, nested to any depth.')
TEXT_HELP = ('The rule as a text query, e.g. tag:"union-member" and state in (WI, MN) and '
             "donations.total >= 50 and not email_status = unsubscribed.")
RULE_ERROR_HELP = ("A rule that does not parse answers 422 with `error`: its `kind` (empty, "
                   "syntax, unbalanced, unknown_field, bad_operator, bad_value, too_large), a "
                   "`message`, and the `position`: a 0-based column in the text, or a JSON "
                   "path such as all[1].value in the rules.")


def _rules_field() -> fields.Dict:
    return fields.Dict(metadata={"description": RULES_HELP})


def _text_field() -> fields.String:
    return fields.String(metadata={"description": TEXT_HELP})


class SegmentPatchSchema(Schema):
    """Fields of a segment; every one is optional in a PATCH. Send rules or text, not both."""

    class Meta:
        description = RULE_ERROR_HELP

    name = fields.String(validate=validate.Length(min=1, max=NAME_MAX),
                         metadata={"description": "Unique, ignoring case (409)."})
    description = fields.String(allow_none=True, validate=validate.Length(max=DESCRIPTION_MAX))
    rules = _rules_field()
    text = _text_field()

    @validates_schema
    def _not_both(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "rules" in data and "text" in data:
            raise ValidationError("Send rules or text, not both.", "rules")


class SegmentCreateSchema(SegmentPatchSchema):
    """A new segment: a name, and its rule as JSON (rules) or as text."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX),
                         metadata={"description": "Unique, ignoring case (409)."})

    @validates_schema
    def _needs_rule(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "rules" not in data and "text" not in data:
            raise ValidationError("Give the rule as rules (JSON) or as text.", "rules")


class SegmentSchema(Schema):
    """A saved segment: its rule as JSON and as canonical text."""

    id = fields.Integer()
    name = fields.String()
    description = fields.String(allow_none=True)
    rules = fields.Dict()
    text = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SegmentListSchema(Schema):
    """Every saved segment by name."""

    items = fields.List(fields.Nested(SegmentSchema))


class SegmentPreviewSchema(Schema):
    """A rule to count without saving it: rules (JSON) or text, one of the two."""

    class Meta:
        description = RULE_ERROR_HELP

    rules = _rules_field()
    text = _text_field()

    @validates_schema
    def _one_rule(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("rules" in data) == ("text" in data):
            raise ValidationError("Send rules or text (one of them).", "rules")


class SegmentPreviewResultSchema(Schema):
    """How many live contacts match, and the rule in both forms."""

    count = fields.Integer()
    text = fields.String(metadata={"description": "The canonical text of the rule."})
    rules = fields.Dict(metadata={"description": "The rule as JSON."})


class RuleErrorSchema(Schema):
    """What is wrong with a rule and where."""

    kind = fields.String()
    message = fields.String()
    position = fields.Raw(metadata={"description": "A 0-based column in the text, or a JSON "
                                                   "path in the rules."})


class RuleProblemSchema(Schema):
    """A rule that does not parse."""

    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    error = fields.Nested(RuleErrorSchema)


class SegmentContactsArgsSchema(Schema):
    """Query string of a segment's contact list."""

    cursor = fields.String(validate=validate.Length(max=500),
                           metadata={"description": "next_cursor from the previous page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
