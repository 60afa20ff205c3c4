"""Audience members: batch subscribe, PUT upsert, listing and tags, with Mailchimp's rules.

Addresses Mailchimp would refuse as fake are refused here by a fixed rule, so tests can rely
on it: the local part (before the @) is exactly ``test``, ``fake``, ``asdf``, ``noreply`` or
``example``, or the domain is ``mailinator.com`` or ends in ``.invalid`` or ``.test``.

Status rules: nobody leaves ``cleaned`` through the API (only a new address would), and an
``unsubscribed`` member cannot be made ``subscribed`` again, though ``pending`` (a fresh
opt-in email) is allowed.
"""

from __future__ import annotations

import bisect
import re
from datetime import datetime
from typing import Any

from .core import StateCore
from .members_rules import (
    clean_merge_fields,
    compliance_message,
    email_problem,
    status_blocked,
)
from .model import (
    STATUSES,
    Audience,
    SandboxProblem,
    field_invalid,
    iso,
    not_found,
    parse_iso,
    subscriber_hash,
)

MAX_BATCH = 500
# What a member may carry over from a request besides status, email and merge fields.
_SIMPLE = {"email_type": str, "language": str, "vip": bool, "ip_signup": str, "ip_opt": str}


class MembersMixin(StateCore):
    """Member operations of ``SandboxState``."""

    def get_member(self, list_id: str, member_hash: str) -> dict[str, Any]:
        """Return one member, or raise a 404 problem."""
        with self._lock:
            audience = self._audience(list_id)
            member = audience.members.get(member_hash.lower())
            if member is None:
                raise not_found("The requested resource could not be found.")
            return audience.render_member(member)

    def find_member(self, list_id: str, email: str) -> dict[str, Any] | None:
        """Return the member with this address, or None."""
        with self._lock:
            audience = self._audience(list_id)
            member = audience.members.get(subscriber_hash(email))
            return None if member is None else audience.render_member(member)

    def all_members(self, list_id: str) -> list[dict[str, Any]]:
        """Return every member of the audience, in listing order."""
        with self._lock:
            audience = self._audience(list_id)
            return [audience.render_member(audience.members[h]) for h in self._order(audience)]

    def batch_subscribe(self, list_id: str, members: Any,
                        update_existing: bool = False) -> dict[str, Any]:
        """Apply ``POST /lists/{id}``: create or update up to 500 members, errors per member."""
        if not isinstance(members, list):
            raise field_invalid("members", "This value should be of type array.")
        if len(members) > MAX_BATCH:
            raise SandboxProblem(400, "Invalid Resource",
                                 f"You may only send up to {MAX_BATCH} members in a single "
                                 f"request; this one had {len(members)}.",
                                 [{"field": "members", "message": "Too many members."}])
        new: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        with self._lock:
            audience = self._audience(list_id)
            for item in members:
                try:
                    created, member = self._upsert(audience, item, update_existing)
                except _ItemError as exc:
                    errors.append(exc.item)
                    continue
                (new if created else updated).append(audience.render_brief(member))
            if new or updated:
                self._changed()
        return {"new_members": new, "updated_members": updated, "errors": errors,
                "total_created": len(new), "total_updated": len(updated),
                "error_count": len(errors), "_links": []}

    def put_member(self, list_id: str, member_hash: str, body: Any) -> dict[str, Any]:
        """Apply ``PUT /lists/{id}/members/{hash}``: add or update one member."""
        if not isinstance(body, dict):
            raise field_invalid("body", "The request body should be a JSON object.")
        for required in ("email_address", "status_if_new"):
            if not body.get(required):
                raise field_invalid(required, "This value should not be blank.")
        with self._lock:
            audience = self._audience(list_id)
            existing = audience.members.get(member_hash.lower())
            wanted = body.get("status") or (None if existing else body["status_if_new"])
            try:
                _created, member = self._upsert(audience, {**body, "status": wanted}, True,
                                                 member_hash.lower())
            except _ItemError as exc:
                title = ("Member In Compliance State" if exc.compliance else "Invalid Resource")
                errors = ([{"field": exc.item["field"], "message": exc.item["field_message"]}]
                          if exc.item["field"] else None)
                raise SandboxProblem(400, title, exc.item["error"], errors) from None
            self._changed()
            return audience.render_member(member)

    def list_members(self, list_id: str, count: int = 10, offset: int = 0,
                     status: str | None = None,
                     since_last_changed: datetime | None = None) -> dict[str, Any]:
        """Return a page of members, oldest change first, with the total that match."""
        with self._lock:
            audience = self._audience(list_id)
            order = self._order(audience)
            start = 0
            if since_last_changed is not None:
                floor = iso(since_last_changed)
                start = bisect.bisect_left(order, floor,
                                           key=lambda h: audience.members[h]["last_changed"])
            matched = order[start:] if status is None else [
                h for h in order[start:] if audience.members[h]["status"] == status]
            page = [audience.render_member(audience.members[h])
                    for h in matched[offset:offset + count]]
            return {"members": page, "list_id": list_id, "total_items": len(matched),
                    "_links": []}

    def update_member_tags(self, list_id: str, member_hash: str, tags: Any) -> None:
        """Apply ``POST .../members/{hash}/tags``: add active tags, remove inactive ones."""
        if not isinstance(tags, list):
            raise field_invalid("tags", "This value should be of type array.")
        for tag in tags:
            if not isinstance(tag, dict) or not str(tag.get("name") or "").strip():
                raise field_invalid("tags", "Each tag needs a name.")
            if tag.get("status") not in ("active", "inactive"):
                raise field_invalid("tags", "A tag's status is 'active' or 'inactive'.")
        with self._lock:
            audience = self._audience(list_id)
            member_id = member_hash.lower()
            if member_id not in audience.members:
                raise not_found("The requested resource could not be found.")
            changed = False
            for tag in tags:
                name = str(tag["name"]).strip()
                segment = audience.segment_named(name)
                active = tag["status"] == "active"
                if active and segment is None:
                    segment = self._new_static_segment(audience, name)
                if segment is None or (member_id in segment["members"]) == active:
                    continue
                if active:
                    segment["members"].add(member_id)
                else:
                    segment["members"].discard(member_id)
                segment["updated_at"] = self.now_iso()
                changed = True
            if changed:
                self._touch(audience, [member_id])
                self._changed()

    def _order(self, audience: Audience) -> list[str]:
        """Return member ids by (last_changed, email), cached until a member changes."""
        cache = audience.sorted_cache
        if cache is None or cache[0] != audience.version:
            members = audience.members
            ids = sorted(members, key=lambda h: (members[h]["last_changed"],
                                                 members[h]["email_address"].lower()))
            cache = audience.sorted_cache = (audience.version, ids)
        return cache[1]

    def _upsert(self, audience: Audience, item: Any, update_existing: bool,
                current_id: str | None = None) -> tuple[bool, dict[str, Any]]:
        """Create or update one member from a request item; raise _ItemError to refuse it.

        ``current_id`` (PUT's URL hash) may name a member whose address changes to the
        item's; any other hash that is not the item address's is refused.
        """
        if not isinstance(item, dict):
            raise _ItemError("", "Each member should be a JSON object.")
        email = str(item.get("email_address") or "").strip()
        problem = email_problem(email)
        if problem:
            raise _ItemError(email, problem)
        member_id = subscriber_hash(email)
        current_id = current_id or member_id
        existing = audience.members.get(current_id)
        moving = current_id != member_id
        if moving and existing is None:
            raise _ItemError(email, "The resource submitted could not be validated.",
                             "email_address", "The subscriber hash in the URL must be the MD5 "
                             "hash of the lowercased email_address, or name a member whose "
                             "address changes to it.")
        if moving and member_id in audience.members:
            raise _ItemError(email, f"{email} is already a list member, so another member's "
                             "address cannot change to it.", code="ERROR_CONTACT_EXISTS")
        status = item.get("status")
        if status is not None and status not in STATUSES:
            raise _ItemError(email, f"{email}: '{status}' is not a valid status.", "status",
                             "Use subscribed, unsubscribed, cleaned, pending or transactional.")
        if existing is not None and not update_existing:
            raise _ItemError(email, f"{email} is already a list member. Use PUT to insert or "
                             "update list members.", code="ERROR_CONTACT_EXISTS")
        if existing is None and status is None:
            raise _ItemError(email, f"{email}: a new member needs a status.", "status",
                             "This value should not be blank.")
        # A new address is the one way out of "cleaned": the bounced one is gone.
        fresh = moving and existing is not None and existing["status"] == "cleaned"
        if existing is not None and status and status_blocked(existing["status"], status) \
                and not fresh:
            raise _ItemError(email, compliance_message(email), compliance=True)
        values, bad = clean_merge_fields(audience.fields_by_tag(), item.get("merge_fields"))
        if bad:
            raise _ItemError(email, "Your merge fields were invalid.", *bad)
        now = self.now_iso()
        contact_id = "" if existing else subscriber_hash(f"{audience.id}:{email}")
        before = existing or {"id": member_id, "email_address": email,
                              "unique_email_id": contact_id[:10], "contact_id": contact_id,
                              "web_id": self._take_web_id(), "email_type": "html",
                              "status": status, "merge_fields": {}, "interests": {},
                              "language": "", "vip": False, "ip_signup": "", "ip_opt": "",
                              "timestamp_signup": "", "timestamp_opt": "",
                              "unsubscribe_reason": "", "source": "API - Generic",
                              "last_changed": now}
        member = {**before, "merge_fields": {**before["merge_fields"], **values}}
        if existing is not None:
            member.update(id=member_id, email_address=email)
        for key, kind in _SIMPLE.items():
            if isinstance(item.get(key), kind):
                member[key] = item[key]
        if isinstance(item.get("interests"), dict):
            member["interests"] = {**member["interests"],
                                   **{str(k): bool(v) for k, v in item["interests"].items()}}
        for key in ("timestamp_signup", "timestamp_opt"):
            if item.get(key):
                member[key] = _timestamp(email, key, item[key])
        if status:
            self._apply_status(audience, member, status,
                               previous=None if existing is None else existing["status"])
        if moving:
            del audience.members[current_id]
            for segment in audience.segments.values():
                if current_id in segment["members"]:
                    segment["members"].discard(current_id)
                    segment["members"].add(member_id)
        if existing is None or member != existing:
            member["last_changed"] = now
            audience.members[member_id] = member
            audience.version += 1
        return existing is None, audience.members[member_id]

    def _apply_status(self, audience: Audience, member: dict[str, Any], status: str,
                      previous: str | None, reason: str = "") -> None:
        """Set a member's status (on a fresh copy) and the times that go with it."""
        now = self.now_iso()
        if status == "subscribed" and not member.get("timestamp_opt"):
            member["timestamp_opt"] = now
        if status != previous and status == "subscribed":
            audience.last_sub_date = now
        elif status != previous and status == "unsubscribed":
            audience.last_unsub_date = now
        if status == "unsubscribed":
            member["unsubscribe_reason"] = reason or member.get("unsubscribe_reason") or "N/A"
        member["status"] = status


class _ItemError(Exception):
    """One member of a batch refused; ``item`` is the batch response's error entry."""

    def __init__(self, email: str, error: str, field: str = "", field_message: str = "",
                 code: str = "ERROR_GENERIC", compliance: bool = False) -> None:
        super().__init__(error)
        self.item = {"email_address": email, "error": error, "error_code": code,
                     "field": field, "field_message": field_message}
        self.compliance = compliance


def _timestamp(email: str, key: str, value: Any) -> str:
    try:
        if not re.match(r"^\d{4}-\d{2}-\d{2}", str(value)):
            raise ValueError(value)
        return iso(parse_iso(str(value)))
    except ValueError:
        raise _ItemError(email, f"{email}: {key} is not a valid date and time.", key,
                         "Use ISO 8601, like 2026-11-29T12:00:00+00:00.") from None

