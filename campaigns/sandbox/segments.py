"""Static segments (Mailchimp's tags) and merge fields of an audience."""

from __future__ import annotations

import re
from typing import Any

from .members import MembersMixin
from .model import MERGE_TYPES, field_invalid, invalid, merge_field, not_found, subscriber_hash

MAX_SEGMENT_BATCH = 500
DEFAULT_MERGE_FIELD_LIMIT = 30
_TAG = re.compile(r"^[A-Z0-9_]{1,10}$")


def page(items: list[Any], count: int, offset: int) -> list[Any]:
    """Return one page of a listing."""
    return items[offset:offset + count]


class SegmentsMixin(MembersMixin):
    """Segment and merge field operations of ``SandboxState``."""

    merge_field_limit: int = DEFAULT_MERGE_FIELD_LIMIT

    def list_segments(self, list_id: str, count: int = 10, offset: int = 0,
                      kind: str | None = None) -> dict[str, Any]:
        """Return a page of the audience's segments, optionally only one type."""
        with self._lock:
            audience = self._audience(list_id)
            found = [s for _, s in sorted(audience.segments.items())
                     if kind is None or s["type"] == kind]
            return {"segments": [audience.render_segment(s) for s in page(found, count, offset)],
                    "list_id": list_id, "total_items": len(found), "_links": []}

    def get_segment(self, list_id: str, segment_id: int) -> dict[str, Any]:
        """Return one segment, or raise a 404 problem."""
        with self._lock:
            audience = self._audience(list_id)
            return audience.render_segment(self._segment(audience.segments, segment_id))

    def create_segment(self, list_id: str, body: Any) -> dict[str, Any]:
        """Create a static segment from ``name`` and ``static_segment`` (a list of emails)."""
        if not isinstance(body, dict) or not str(body.get("name") or "").strip():
            raise field_invalid("name", "This value should not be blank.")
        if body.get("options"):
            raise invalid("Segments with conditions are not supported by the sandbox; create a "
                          "static segment with static_segment instead.")
        emails = body.get("static_segment") or []
        if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
            raise field_invalid("static_segment", "This value should be a list of emails.")
        name = str(body["name"]).strip()
        with self._lock:
            audience = self._audience(list_id)
            if audience.segment_named(name) is not None:
                raise invalid(f'A tag or segment named "{name}" already exists in this audience.')
            segment = self._new_static_segment(audience, name)
            # Mailchimp ignores addresses that are not on the audience.
            added = {h for h in map(subscriber_hash, emails) if h in audience.members}
            segment["members"].update(added)
            if added:
                self._touch(audience, added)
            self._changed()
            return audience.render_segment(segment)

    def batch_segment_members(self, list_id: str, segment_id: int, body: Any) -> dict[str, Any]:
        """Add and remove up to 500 addresses each to and from a static segment."""
        body = body if isinstance(body, dict) else {}
        to_add, to_remove = body.get("members_to_add") or [], body.get("members_to_remove") or []
        for key, emails in (("members_to_add", to_add), ("members_to_remove", to_remove)):
            if not isinstance(emails, list) or not all(isinstance(e, str) for e in emails):
                raise field_invalid(key, "This value should be a list of emails.")
            if len(emails) > MAX_SEGMENT_BATCH:
                raise field_invalid(key, f"At most {MAX_SEGMENT_BATCH} addresses per request; "
                                    f"this one had {len(emails)}.")
        with self._lock:
            audience = self._audience(list_id)
            segment = self._segment(audience.segments, segment_id)
            if segment["type"] != "static":
                raise invalid("Only static segments can have members added or removed.")
            missing: list[str] = []
            added, removed = [], []
            for email in to_add:
                member_id = subscriber_hash(email)
                if member_id not in audience.members:
                    missing.append(email)
                elif member_id not in segment["members"]:
                    segment["members"].add(member_id)
                    added.append(member_id)
            for email in to_remove:
                member_id = subscriber_hash(email)
                if member_id not in audience.members:
                    missing.append(email)
                elif member_id in segment["members"]:
                    segment["members"].discard(member_id)
                    removed.append(member_id)
            if added or removed:
                segment["updated_at"] = self.now_iso()
                self._touch(audience, added + removed)
                self._changed()
            errors = ([{"email_addresses": missing, "error": "Email addresses are not members "
                        "of this audience."}] if missing else [])
            render = audience.render_member
            return {"members_added": [render(audience.members[h]) for h in added],
                    "members_removed": [render(audience.members[h]) for h in removed],
                    "errors": errors, "total_added": len(added), "total_removed": len(removed),
                    "error_count": len(missing), "_links": []}

    def delete_segment(self, list_id: str, segment_id: int) -> None:
        """Delete a segment (tag); its members lose the tag."""
        with self._lock:
            audience = self._audience(list_id)
            segment = self._segment(audience.segments, segment_id)
            del audience.segments[segment["id"]]
            self._touch(audience, segment["members"])
            self._changed()

    def list_merge_fields(self, list_id: str, count: int = 10, offset: int = 0,
                          kind: str | None = None) -> dict[str, Any]:
        """Return a page of the audience's merge fields."""
        with self._lock:
            audience = self._audience(list_id)
            found = [f for f in audience.merge_fields if kind is None or f["type"] == kind]
            return {"merge_fields": [audience.render_merge_field(f)
                                     for f in page(found, count, offset)],
                    "list_id": list_id, "total_items": len(found), "_links": []}

    def add_merge_field(self, list_id: str, body: Any) -> dict[str, Any]:
        """Add a merge field; the tag is upper-cased, unique and at most 10 characters."""
        if not isinstance(body, dict) or not str(body.get("name") or "").strip():
            raise field_invalid("name", "This value should not be blank.")
        kind = body.get("type")
        if kind not in MERGE_TYPES:
            raise field_invalid("type", f"Use one of: {', '.join(MERGE_TYPES)}.")
        tag = str(body.get("tag") or "").strip().upper()
        if tag and not _TAG.match(tag):
            raise field_invalid("tag", "A merge tag is 1 to 10 letters, digits or underscores.")
        with self._lock:
            audience = self._audience(list_id)
            if len(audience.merge_fields) >= self.merge_field_limit:
                raise invalid(f"This audience already has {len(audience.merge_fields)} merge "
                              f"fields, the most its plan allows ({self.merge_field_limit}); "
                              "delete one before adding another.")
            merge_id = audience.next_merge_id
            tag = tag or f"MMERGE{merge_id}"
            if any(f["tag"] == tag for f in audience.merge_fields):
                raise invalid(f'A Merge Field with the tag "{tag}" already exists for this list.')
            options = body.get("options") if isinstance(body.get("options"), dict) else {}
            definition = merge_field(merge_id, tag, str(body["name"]).strip(), kind,
                                     required=body.get("required"), public=body.get("public"),
                                     default_value=body.get("default_value"),
                                     help_text=body.get("help_text"),
                                     display_order=body.get("display_order"))
            definition["options"] = {**definition["options"], **options}
            audience.merge_fields.append(definition)
            audience.next_merge_id += 1
            self._changed()
            return audience.render_merge_field(definition)

    @staticmethod
    def _segment(segments: dict[int, dict[str, Any]], segment_id: int) -> dict[str, Any]:
        segment = segments.get(segment_id)
        if segment is None:
            raise not_found("The requested resource could not be found.")
        return segment

