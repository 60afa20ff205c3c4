"""The sandbox's data: audiences, their members, merge fields, tags and webhooks, as plain dicts.

Everything here is unlocked and pure; ``SandboxState`` holds the lock around it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ERROR_DOCS = "https://mailchimp.com/developer/marketing/docs/errors/"
DEFAULT_LIST_ID = "5a1dbox001"
DEFAULT_LIST_NAME = "Sandbox audience"
STATUSES = ("subscribed", "unsubscribed", "cleaned", "pending", "transactional")
MERGE_TYPES = ("text", "number", "address", "phone", "date", "url", "imageurl", "radio",
               "dropdown", "birthday", "zip")


class SandboxProblem(Exception):
    """A Mailchimp-style error answer: HTTP status, title, detail and optional field errors."""

    def __init__(self, status: int, title: str, detail: str,
                 errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """Return the problem+json body."""
        body: dict[str, Any] = {"type": ERROR_DOCS, "title": self.title, "status": self.status,
                                "detail": self.detail, "instance": instance or str(uuid.uuid4())}
        if self.errors:
            body["errors"] = self.errors
        return body


def not_found(detail: str = "The requested resource could not be found.") -> SandboxProblem:
    """Return Mailchimp's 404 problem."""
    return SandboxProblem(404, "Resource Not Found", detail)


def invalid(detail: str, errors: list[dict[str, str]] | None = None) -> SandboxProblem:
    """Return Mailchimp's 400 "Invalid Resource" problem."""
    return SandboxProblem(400, "Invalid Resource", detail, errors)


def field_invalid(name: str, message: str) -> SandboxProblem:
    """Return the 400 problem for one bad field of the request body."""
    return invalid("The resource submitted could not be validated. For field-specific details, "
                   "see the 'errors' array.", [{"field": name, "message": message}])


def subscriber_hash(email: str) -> str:
    """Return Mailchimp's member id: the MD5 of the lowercased address."""
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Format a time the way Mailchimp does: second precision with an explicit +00:00."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 time; a time without offset is taken as UTC."""
    moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def merge_field(merge_id: int, tag: str, name: str, kind: str, **extra: Any) -> dict[str, Any]:
    """Return a merge field definition with Mailchimp's defaults filled in."""
    options: dict[str, Any] = {"text": {"size": 25}, "address": {"default_country": 164},
                               "phone": {"phone_format": "none"},
                               "birthday": {"date_format": "MM/DD"},
                               "date": {"date_format": "MM/DD/YYYY"},
                               "dropdown": {"choices": []}, "radio": {"choices": []}}.get(kind, {})
    definition = {"merge_id": merge_id, "tag": tag, "name": name, "type": kind,
                  "required": False, "default_value": "", "public": False,
                  "display_order": merge_id + 1, "options": options, "help_text": ""}
    # Only values of the right JSON type are taken: the response schema is typed.
    definition.update({k: v for k, v in extra.items()
                       if k in definition and type(v) is type(definition[k])})
    return definition


def default_merge_fields() -> list[dict[str, Any]]:
    """Return the merge fields every new Mailchimp audience starts with."""
    return [merge_field(1, "FNAME", "First Name", "text"),
            merge_field(2, "LNAME", "Last Name", "text"),
            merge_field(3, "ADDRESS", "Address", "address"),
            merge_field(4, "PHONE", "Phone Number", "phone"),
            merge_field(5, "BIRTHDAY", "Birthday", "birthday")]


# Shared by every rendered member: the sandbox has no opens, clicks or geolocation.
_MEMBER_STATS = {"avg_open_rate": 0, "avg_click_rate": 0}
_MEMBER_LOCATION = {"latitude": 0, "longitude": 0, "gmtoff": 0, "dstoff": 0, "country_code": "",
                    "timezone": "", "region": ""}


@dataclass
class Audience:
    """One Mailchimp list: its settings and everything in it."""

    id: str
    name: str
    web_id: int
    date_created: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    merge_fields: list[dict[str, Any]] = field(default_factory=default_merge_fields)
    next_merge_id: int = 6
    # Tags are static segments in Mailchimp; segment id -> segment, with a set of member ids.
    segments: dict[int, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_sub_date: str = ""
    last_unsub_date: str = ""
    # Bumped on every member change so the sorted listing can be cached between pages.
    version: int = 0
    sorted_cache: tuple[int, list[str]] | None = None
    tag_cache: tuple[int, dict[str, dict[str, Any]]] | None = None

    def fields_by_tag(self) -> dict[str, dict[str, Any]]:
        """Return the merge fields by tag (fields are only ever added, so the count keys it)."""
        cache = self.tag_cache
        if cache is None or cache[0] != len(self.merge_fields):
            cache = self.tag_cache = (len(self.merge_fields),
                                      {f["tag"]: f for f in self.merge_fields})
        return cache[1]

    def render_brief(self, member: dict[str, Any]) -> dict[str, Any]:
        """Return the few member fields a batch answer needs (the spec requires none).

        A batch answers up to 500 members; rendering each in full made the sandbox, not the
        client, the slowest part of a large sync.
        """
        return {"id": member["id"], "email_address": member["email_address"],
                "unique_email_id": member.get("unique_email_id", ""),
                "status": member["status"], "list_id": self.id,
                "last_changed": member.get("last_changed", "")}

    def to_json(self) -> dict[str, Any]:
        """Return everything worth saving, JSON-ready."""
        segments = [{**s, "members": sorted(s["members"])} for s in self.segments.values()]
        return {"id": self.id, "name": self.name, "web_id": self.web_id,
                "date_created": self.date_created, "members": list(self.members.values()),
                "merge_fields": [dict(f) for f in self.merge_fields],
                "next_merge_id": self.next_merge_id,
                "segments": segments, "webhooks": list(self.webhooks.values()),
                "last_sub_date": self.last_sub_date, "last_unsub_date": self.last_unsub_date}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        """Rebuild an audience saved by ``to_json``."""
        return cls(id=data["id"], name=data["name"], web_id=int(data["web_id"]),
                   date_created=data["date_created"],
                   members={m["id"]: m for m in data.get("members", [])},
                   merge_fields=data.get("merge_fields") or default_merge_fields(),
                   next_merge_id=int(data.get("next_merge_id", 6)),
                   segments={int(s["id"]): {**s, "members": set(s["members"])}
                             for s in data.get("segments", [])},
                   webhooks={w["id"]: w for w in data.get("webhooks", [])},
                   last_sub_date=data.get("last_sub_date", ""),
                   last_unsub_date=data.get("last_unsub_date", ""))

    def tags_of(self, member_id: str) -> list[dict[str, Any]]:
        """Return the member's tags as Mailchimp lists them: ``[{id, name}]``."""
        return [{"id": s["id"], "name": s["name"]} for s in self.segments.values()
                if member_id in s["members"]]

    def segment_named(self, name: str) -> dict[str, Any] | None:
        """Return the segment (tag) with this name, compared without case."""
        wanted = name.strip().lower()
        return next((s for s in self.segments.values() if s["name"].lower() == wanted), None)

    def render_member(self, member: dict[str, Any]) -> dict[str, Any]:
        """Return a member as the API shows it (every merge field present, tags, stats)."""
        body = {k: v for k, v in member.items() if not k.startswith("_")}
        # An unset time is "" at Mailchimp, but the published spec says date-time: leave it out.
        for key in ("timestamp_signup", "timestamp_opt"):
            if not body.get(key):
                body.pop(key, None)
        values = member["merge_fields"]
        body["merge_fields"] = {f["tag"]: values.get(f["tag"], "") for f in self.merge_fields}
        tags = self.tags_of(member["id"])
        first, last = str(values.get("FNAME", "")), str(values.get("LNAME", ""))
        body.update(list_id=self.id, tags=tags, tags_count=len(tags), member_rating=2,
                    email_client="", full_name=f"{first} {last}".strip(),
                    stats=_MEMBER_STATS, location=_MEMBER_LOCATION,
                    marketing_permissions=[], consents_to_one_to_one_messaging=True,
                    _links=[])
        return body

    def render_segment(self, segment: dict[str, Any]) -> dict[str, Any]:
        """Return a segment (tag) as the API shows it."""
        body = {k: v for k, v in segment.items() if k != "members"}
        body.update(member_count=len(segment["members"]), list_id=self.id, _links=[])
        return body

    def render_merge_field(self, definition: dict[str, Any]) -> dict[str, Any]:
        """Return a merge field as the API shows it."""
        return {**definition, "list_id": self.id, "_links": []}

    def render_webhook(self, hook: dict[str, Any]) -> dict[str, Any]:
        """Return a webhook as the API shows it."""
        return {**hook, "list_id": self.id, "_links": []}

    def render(self) -> dict[str, Any]:
        """Return the list object with its live stats."""
        counts = dict.fromkeys(STATUSES, 0)
        for member in self.members.values():
            counts[member["status"]] = counts.get(member["status"], 0) + 1
        stats: dict[str, Any] = {
            "member_count": counts["subscribed"], "unsubscribe_count": counts["unsubscribed"],
            "cleaned_count": counts["cleaned"], "member_count_since_send": counts["subscribed"],
            "unsubscribe_count_since_send": counts["unsubscribed"],
            "cleaned_count_since_send": counts["cleaned"], "campaign_count": 0,
            "merge_field_count": len(self.merge_fields), "avg_sub_rate": 0, "avg_unsub_rate": 0,
            "target_sub_rate": 0, "open_rate": 0, "click_rate": 0,
            "total_contacts": len(self.members)}
        if self.last_sub_date:
            stats["last_sub_date"] = self.last_sub_date
        if self.last_unsub_date:
            stats["last_unsub_date"] = self.last_unsub_date
        return {
            "id": self.id, "web_id": self.web_id, "name": self.name,
            "contact": {"company": "Sandbox Organisation", "address1": "1 Sandbox Way",
                        "address2": "", "city": "Madison", "state": "WI", "zip": "53703",
                        "country": "US", "phone": ""},
            "permission_reminder": "You signed up with us; this is the sandbox audience.",
            "use_archive_bar": False,
            "campaign_defaults": {"from_name": "Sandbox",
                                  "from_email": "sandbox@localhost.localdomain",
                                  "subject": "", "language": "en"},
            "notify_on_subscribe": "", "notify_on_unsubscribe": "",
            "date_created": self.date_created, "list_rating": 0, "email_type_option": False,
            "subscribe_url_short": f"http://eepurl.localhost/{self.id}",
            "subscribe_url_long": f"http://sandbox.localhost/subscribe?id={self.id}",
            "beamer_address": f"{self.id}@inbound.localhost", "visibility": "prv",
            "double_optin": False, "has_welcome": False, "marketing_permissions": False,
            "modules": [], "stats": stats, "_links": []}
