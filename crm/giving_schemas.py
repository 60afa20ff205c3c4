"""Marshmallow schemas of the donation, membership and group API."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from .api_schemas import ContactSchema
from .groups import DESCRIPTION_MAX, NAME_MAX
from .memberships import LIMITS
from .models import MEMBERSHIP_STATUSES
from .money import MAX_CENTS, parse_dollars

AMOUNT_HELP = ("Amounts are integer cents: send `amount_cents` (2500 is $25.00), or instead "
               "`amount` in dollars as a number or string with at most 2 decimals (\"25.00\"). "
               "Responses carry both.")


class DonationPatchSchema(Schema):
    """Fields of a gift; every one is optional in a PATCH."""

    class Meta:
        description = AMOUNT_HELP

    amount_cents = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_CENTS),
                                  metadata={"description": "Whole cents, above zero."})
    amount = fields.Raw(load_only=True,
                        metadata={"description": "Dollars with at most 2 decimals, e.g. 25.50; "
                                                 "an alternative to amount_cents."})
    received_at = fields.AwareDateTime(default_timezone=UTC,
                                       metadata={"description": "ISO 8601; UTC if no zone."})
    recurring = fields.Boolean(truthy={True}, falsy={False})
    refcode = fields.String(allow_none=True, validate=validate.Length(max=100),
                            metadata={"description": "Source code of the ask."})
    external_id = fields.String(allow_none=True, validate=validate.Length(max=100),
                                metadata={"description": "Receipt id on the donation platform; "
                                                         "unique (409 when taken)."})

    @validates_schema
    def _one_amount(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "amount" in data and "amount_cents" in data:
            raise ValidationError("Send amount or amount_cents, not both.", "amount")
        if "amount" in data:
            raw = data["amount"]
            if isinstance(raw, bool) or not isinstance(raw, str | int | float):
                raise ValidationError("Must be a number of dollars.", "amount")
            try:
                parse_dollars(raw)
            except ValueError as exc:
                raise ValidationError(str(exc), "amount") from None

    @post_load
    def _to_cents(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        if "amount" in data:
            data["amount_cents"] = parse_dollars(data.pop("amount"))
        return data


class DonationCreateSchema(DonationPatchSchema):
    """A new gift: an amount is required; the date defaults to now."""

    @validates_schema
    def _needs_amount(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if "amount" not in data and "amount_cents" not in data:
            raise ValidationError("Give amount_cents (or amount in dollars).", "amount_cents")


class DonationSchema(Schema):
    """A gift as the API returns it."""

    id = fields.Integer()
    contact_id = fields.Integer()
    amount_cents = fields.Integer()
    amount = fields.Function(lambda d: f"{d.amount_cents / 100:.2f}",
                             metadata={"description": "Dollars, as text."})
    received_at = fields.DateTime()
    recurring = fields.Boolean()
    refcode = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    source = fields.String()
    created_at = fields.DateTime()
    created_by = fields.String()


class DonationSummarySchema(Schema):
    """A contact's giving at a glance; ``recurring`` means any recurring gift ever."""

    total_cents = fields.Integer()
    gift_count = fields.Integer()
    hpc_cents = fields.Integer(metadata={"description": "Highest single gift."})
    first_at = fields.DateTime()
    last_at = fields.DateTime()
    last_cents = fields.Integer(metadata={"description": "The most recent gift."})
    recurring = fields.Boolean()


class DonationListArgsSchema(Schema):
    """Query string of a contact's gift list."""

    cursor = fields.String(validate=validate.Length(max=500),
                           metadata={"description": "next_cursor from the previous page."})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class DonationListSchema(Schema):
    """A page of a contact's gifts, newest first, and their summary (null if they never gave)."""

    items = fields.List(fields.Nested(DonationSchema))
    next_cursor = fields.String(allow_none=True)
    summary = fields.Nested(DonationSummarySchema, allow_none=True)


def _member_text(name: str) -> fields.String:
    return fields.String(allow_none=True, validate=validate.Length(max=LIMITS[name]))


class MembershipPatchSchema(Schema):
    """Fields of a union membership; every one is optional in a PATCH."""

    union_name = fields.String(validate=validate.Length(min=1, max=LIMITS["union_name"]))
    local = _member_text("local")
    member_id = fields.String(allow_none=True, validate=validate.Length(max=LIMITS["member_id"]),
                              metadata={"description": "Unique within the union (409)."})
    status = fields.String(validate=validate.OneOf(MEMBERSHIP_STATUSES))
    worksite = _member_text("worksite")
    since = fields.Date(allow_none=True, metadata={"description": "YYYY-MM-DD"})


class MembershipCreateSchema(MembershipPatchSchema):
    """A new membership: the union is required; status defaults to active."""

    union_name = fields.String(required=True,
                               validate=validate.Length(min=1, max=LIMITS["union_name"]))


class MembershipSchema(Schema):
    """A union membership as the API returns it."""

    id = fields.Integer()
    contact_id = fields.Integer()
    union_name = fields.String()
    local = fields.String(allow_none=True)
    member_id = fields.String(allow_none=True)
    status = fields.String()
    worksite = fields.String(allow_none=True)
    since = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class MembershipListSchema(Schema):
    """A contact's memberships."""

    items = fields.List(fields.Nested(MembershipSchema))


class GroupCreateSchema(Schema):
    """A new group."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=NAME_MAX))
    description = fields.String(allow_none=True, validate=validate.Length(max=DESCRIPTION_MAX))


class GroupSchema(Schema):
    """A group with how many live contacts are in it."""

    id = fields.Integer()
    name = fields.String()
    description = fields.String(allow_none=True)
    member_count = fields.Integer()
    created_at = fields.DateTime()


class GroupListSchema(Schema):
    """Every group by name."""

    items = fields.List(fields.Nested(GroupSchema))


class GroupMembersArgsSchema(Schema):
    """Query string of a group's member list."""

    cursor = fields.String(validate=validate.Length(max=500),
                           metadata={"description": "next_cursor from the previous page."})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class GroupMemberPageSchema(Schema):
    """One page of a group's members by name."""

    items = fields.List(fields.Nested(ContactSchema))
    next_cursor = fields.String(allow_none=True)


class GroupMemberAddSchema(Schema):
    """The contact to add: by ``contact_id`` or by ``email``, one of the two."""

    contact_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    email = fields.String(validate=validate.Length(min=3, max=320))

    @validates_schema
    def _one_contact(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("contact_id" in data) == ("email" in data):
            raise ValidationError("Send contact_id or email (one of them).", "contact_id")


class GroupMemberAddedSchema(Schema):
    """Whether the contact was added or already a member."""

    group_id = fields.Integer()
    contact_id = fields.Integer()
    added = fields.Boolean()
