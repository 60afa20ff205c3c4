"""The JSON API of donations, union memberships and groups (on the shared API blueprint)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE

from . import access, contacts, donations, groups, memberships
from .api import api_bp
from .current import db_session as _session
from .giving_schemas import (
    DonationCreateSchema,
    DonationListArgsSchema,
    DonationListSchema,
    DonationPatchSchema,
    DonationSchema,
    GroupCreateSchema,
    GroupListSchema,
    GroupMemberAddedSchema,
    GroupMemberAddSchema,
    GroupMemberPageSchema,
    GroupMembersArgsSchema,
    GroupSchema,
    MembershipCreateSchema,
    MembershipListSchema,
    MembershipPatchSchema,
    MembershipSchema,
)

ID = "int(max=2147483647)"



def _actor() -> str:
    return access.actor_label()


@api_bp.route(f"/contacts/<{ID}:contact_id>/donations")
@api_bp.arguments(DonationListArgsSchema, location="query", unknown=RAISE)
@api_bp.response(200, DonationListSchema)
def donation_list(args: dict[str, Any], contact_id: int) -> dict[str, Any]:
    """List a contact's gifts, newest first, with their giving summary; pages by cursor."""
    contact = contacts.get(_session(), contact_id)
    page = donations.page_for_contact(_session(), contact.id, cursor=args.get("cursor"),
                                      limit=args["limit"])
    return {"items": page.items, "next_cursor": page.next_cursor,
            "summary": donations.summary(_session(), contact.id)}


@api_bp.route(f"/contacts/<{ID}:contact_id>/donations", methods=["POST"])
@api_bp.arguments(DonationCreateSchema)
@api_bp.response(201, DonationSchema)
@api_bp.alt_response(409, description="Another gift has this external id")
def donation_create(body: dict[str, Any], contact_id: int) -> Any:
    """Record a gift (amounts in integer cents, or dollars as ``amount``)."""
    gift = donations.create(_session(), contact_id, body, actor=_actor(), source="api")
    _session().commit()
    return gift


@api_bp.route(f"/donations/<{ID}:donation_id>")
@api_bp.response(200, DonationSchema)
def donation_get(donation_id: int) -> Any:
    """Get one gift."""
    return donations.get(_session(), donation_id)


@api_bp.route(f"/donations/<{ID}:donation_id>", methods=["PATCH"])
@api_bp.arguments(DonationPatchSchema)
@api_bp.response(200, DonationSchema)
def donation_update(body: dict[str, Any], donation_id: int) -> Any:
    """Change some fields of a gift; the contact's summary follows."""
    gift = donations.update(_session(), donation_id, body, actor=_actor())
    _session().commit()
    return gift


@api_bp.route(f"/donations/<{ID}:donation_id>", methods=["DELETE"])
@api_bp.response(204)
def donation_delete(donation_id: int) -> None:
    """Delete a gift."""
    donations.delete(_session(), donation_id, actor=_actor())
    _session().commit()


@api_bp.route(f"/contacts/<{ID}:contact_id>/memberships")
@api_bp.response(200, MembershipListSchema)
def membership_list(contact_id: int) -> dict[str, Any]:
    """List a contact's union memberships."""
    contact = contacts.get(_session(), contact_id)
    return {"items": memberships.for_contact(_session(), contact.id)}


@api_bp.route(f"/contacts/<{ID}:contact_id>/memberships", methods=["POST"])
@api_bp.arguments(MembershipCreateSchema)
@api_bp.response(201, MembershipSchema)
@api_bp.alt_response(409, description="The member id is taken in this union")
def membership_create(body: dict[str, Any], contact_id: int) -> Any:
    """Add a union membership to a contact."""
    membership = memberships.add(_session(), contact_id, body, actor=_actor())
    _session().commit()
    return membership


@api_bp.route(f"/memberships/<{ID}:membership_id>")
@api_bp.response(200, MembershipSchema)
def membership_get(membership_id: int) -> Any:
    """Get one membership."""
    return memberships.get(_session(), membership_id)


@api_bp.route(f"/memberships/<{ID}:membership_id>", methods=["PATCH"])
@api_bp.arguments(MembershipPatchSchema)
@api_bp.response(200, MembershipSchema)
def membership_update(body: dict[str, Any], membership_id: int) -> Any:
    """Change some fields of a membership."""
    membership = memberships.update(_session(), membership_id, body, actor=_actor())
    _session().commit()
    return membership


@api_bp.route(f"/memberships/<{ID}:membership_id>", methods=["DELETE"])
@api_bp.response(204)
def membership_delete(membership_id: int) -> None:
    """Remove a membership."""
    memberships.remove(_session(), membership_id, actor=_actor())
    _session().commit()


def _group_out(group: Any, count: int) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "description": group.description,
            "member_count": count, "created_at": group.created_at}


@api_bp.route("/groups")
@api_bp.response(200, GroupListSchema)
def group_list() -> dict[str, Any]:
    """List groups by name with their member counts."""
    return {"items": [_group_out(g, n) for g, n in groups.all_with_counts(_session())]}


@api_bp.route("/groups", methods=["POST"])
@api_bp.arguments(GroupCreateSchema)
@api_bp.response(201, GroupSchema)
@api_bp.alt_response(409, description="Another group has this name")
def group_create(body: dict[str, Any]) -> dict[str, Any]:
    """Create a group."""
    group = groups.create(_session(), body["name"], body.get("description"), actor=_actor())
    _session().commit()
    return _group_out(group, 0)


@api_bp.route(f"/groups/<{ID}:group_id>/members")
@api_bp.arguments(GroupMembersArgsSchema, location="query", unknown=RAISE)
@api_bp.response(200, GroupMemberPageSchema)
def group_members(args: dict[str, Any], group_id: int) -> dict[str, Any]:
    """List a group's members by name; ``next_cursor`` pages on."""
    page = groups.members(_session(), group_id, cursor=args.get("cursor"), limit=args["limit"])
    return {"items": page.items, "next_cursor": page.next_cursor}


@api_bp.route(f"/groups/<{ID}:group_id>/members", methods=["POST"])
@api_bp.arguments(GroupMemberAddSchema)
@api_bp.response(200, GroupMemberAddedSchema)
def group_member_add(body: dict[str, Any], group_id: int) -> dict[str, Any]:
    """Put a contact in a group (``added`` is false if they already were)."""
    if "email" in body:
        contact, added = groups.add_member_by_email(_session(), group_id, body["email"],
                                                    actor=_actor())
        contact_id = contact.id
    else:
        contact_id = body["contact_id"]
        added = groups.add_member(_session(), group_id, contact_id, actor=_actor())
    _session().commit()
    return {"group_id": group_id, "contact_id": contact_id, "added": added}


@api_bp.route(f"/groups/<{ID}:group_id>/members/<{ID}:contact_id>", methods=["DELETE"])
@api_bp.response(204)
def group_member_remove(group_id: int, contact_id: int) -> None:
    """Take a contact out of a group."""
    groups.remove_member(_session(), group_id, contact_id, actor=_actor())
    _session().commit()
