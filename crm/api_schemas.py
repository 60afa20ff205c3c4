"""Marshmallow schemas of the JSON API; they validate requests and generate the OpenAPI document."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from .models import EMAIL_STATUSES
from .validation import MAX_LENGTHS, TAG_MAX


def _text(name: str) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=MAX_LENGTHS[name]))


class ContactPatchSchema(Schema):
    """Fields a client may send for a contact; every one is optional in a PATCH."""

    email = fields.String(validate=validate.Length(min=3, max=320),
                          metadata={"description": "Unique; matched case-insensitively."})
    first_name = _text("first_name")
    last_name = _text("last_name")
    phone = fields.String(allow_none=True, validate=validate.Length(max=40),
                          metadata={"description": "Stored in E.164; US numbers need no +1."})
    street = _text("street")
    city = _text("city")
    state = fields.String(allow_none=True, validate=validate.Length(max=2),
                          metadata={"description": "Two-letter USPS code."})
    zip = fields.String(allow_none=True, validate=validate.Length(max=10),
                        metadata={"description": "5 digits or ZIP+4."})
    county = _text("county")
    employer = _text("employer")
    occupation = _text("occupation")
    source = _text("source")
    custom_fields = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)),
                                values=fields.Raw(allow_none=True))
    email_status = fields.String(validate=validate.OneOf(EMAIL_STATUSES))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=TAG_MAX)),
                       validate=validate.Length(max=200))


class ContactCreateSchema(ContactPatchSchema):
    """A new contact: the email is required."""

    email = fields.String(required=True, validate=validate.Length(min=3, max=320))


class TagSchema(Schema):
    """A tag."""

    name = fields.String()


class ContactSchema(Schema):
    """A contact as the API returns it."""

    id = fields.Integer()
    email = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    phone = fields.String(allow_none=True)
    street = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    zip = fields.String(allow_none=True)
    county = fields.String(allow_none=True)
    employer = fields.String(allow_none=True)
    occupation = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    custom_fields = fields.Dict()
    email_status = fields.String()
    tags = fields.Pluck(TagSchema, "name", many=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ContactListArgsSchema(Schema):
    """Query string of the contact list."""

    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "Prefix of a name, email, city or phone."})
    tag = fields.String(validate=validate.Length(max=TAG_MAX))
    state = fields.String(validate=validate.Length(equal=2))
    email_status = fields.String(validate=validate.OneOf(EMAIL_STATUSES))
    cursor = fields.String(validate=validate.Length(max=500),
                           metadata={"description": "next_cursor from the previous page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ContactPageSchema(Schema):
    """One page of contacts."""

    items = fields.List(fields.Nested(ContactSchema))
    next_cursor = fields.String(allow_none=True)


class UpsertArgsSchema(Schema):
    """Query string of contact creation."""

    upsert = fields.Boolean(load_default=False,
                            metadata={"description": "Update the contact with this email if any."})


class TagsSchema(Schema):
    """Tag names to add."""

    tags = fields.List(fields.String(validate=validate.Length(min=1, max=TAG_MAX)),
                       required=True, validate=validate.Length(min=1, max=200))


class MeSchema(Schema):
    """Who the token or session belongs to."""

    actor = fields.String()
    role = fields.String(allow_none=True)
