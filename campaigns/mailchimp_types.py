"""What the gateway hands back: small records built from Mailchimp's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _moment(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Audience:
    """An audience (list) with the counts staff care about."""

    id: str
    name: str
    member_count: int
    unsubscribe_count: int
    cleaned_count: int

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Audience:
        """Build from GET /lists/{id}."""
        stats = data.get("stats") or {}
        return cls(id=str(data.get("id", "")), name=str(data.get("name", "")),
                   member_count=int(stats.get("member_count") or 0),
                   unsubscribe_count=int(stats.get("unsubscribe_count") or 0),
                   cleaned_count=int(stats.get("cleaned_count") or 0))


@dataclass(frozen=True)
class MergeField:
    """One merge field: its tag (FNAME), name, type and id."""

    tag: str
    name: str
    type: str
    merge_id: int

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> MergeField:
        """Build from a merge-field object."""
        return cls(tag=str(data.get("tag", "")), name=str(data.get("name", "")),
                   type=str(data.get("type", "")), merge_id=int(data.get("merge_id") or 0))


@dataclass(frozen=True)
class Member:
    """An audience member as Mailchimp has them."""

    email: str
    status: str
    merge_fields: dict[str, Any] = field(default_factory=dict)
    last_changed: datetime | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Member:
        """Build from a member object."""
        return cls(email=str(data.get("email_address", "")), status=str(data.get("status", "")),
                   merge_fields=dict(data.get("merge_fields") or {}),
                   last_changed=_moment(data.get("last_changed")),
                   tags=tuple(str(t.get("name", "")) for t in data.get("tags") or []))


@dataclass(frozen=True)
class MemberError:
    """Why Mailchimp refused one member of a batch."""

    email: str
    code: str
    message: str
    field: str = ""

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> MemberError:
        """Build from one entry of a batch's ``errors``."""
        message = str(data.get("error", ""))
        if data.get("field_message"):
            message = f"{message} {data['field_message']}".strip()
        return cls(email=str(data.get("email_address", "")), code=str(data.get("error_code", "")),
                   message=message, field=str(data.get("field") or ""))

    @property
    def compliance(self) -> bool:
        """Tell whether Mailchimp refused because the member opted out or bounced there."""
        return "compliance state" in self.message.lower()


@dataclass(frozen=True)
class BatchResult:
    """What a batch subscribe/update accepted, and what it refused."""

    new: list[str]
    updated: list[str]
    errors: list[MemberError]


@dataclass(frozen=True)
class StaticSegment:
    """A static segment; Mailchimp's tags are static segments too."""

    id: int
    name: str
    member_count: int

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> StaticSegment:
        """Build from a segment object."""
        return cls(id=int(data.get("id") or 0), name=str(data.get("name", "")),
                   member_count=int(data.get("member_count") or 0))


@dataclass(frozen=True)
class SegmentChange:
    """What a static-segment change added, removed and refused."""

    added: int
    removed: int
    errors: list[str]

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SegmentChange:
        """Build from POST /lists/{id}/segments/{segment_id}."""
        errors = [f"{', '.join(e.get('email_addresses') or [])}: {e.get('error', '')}"
                  for e in data.get("errors") or []]
        return cls(added=int(data.get("total_added") or 0),
                   removed=int(data.get("total_removed") or 0), errors=errors)


@dataclass(frozen=True)
class Webhook:
    """A webhook registered on the audience."""

    id: str
    url: str
    events: tuple[str, ...]
    sources: tuple[str, ...]

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Webhook:
        """Build from a webhook object."""
        events = data.get("events") or {}
        sources = data.get("sources") or {}
        return cls(id=str(data.get("id", "")), url=str(data.get("url", "")),
                   events=tuple(k for k, v in events.items() if v),
                   sources=tuple(k for k, v in sources.items() if v))


@dataclass(frozen=True)
class CampaignInfo:
    """A campaign as Mailchimp reports it: its ids, status, settings and sending figures.

    ``status`` is one of save, paused, schedule, sending, sent, canceled, canceling,
    archived. ``send_time`` is the sending (or scheduled) time, None while there is none.
    """

    id: str
    web_id: int
    status: str
    title: str
    subject: str
    segment_id: int | None
    emails_sent: int
    send_time: datetime | None
    create_time: datetime | None
    list_id: str = ""
    recipient_count: int = 0

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> CampaignInfo:
        """Build from a campaign object."""
        settings = data.get("settings") or {}
        recipients = data.get("recipients") or {}
        segment = (recipients.get("segment_opts") or {}).get("saved_segment_id")
        return cls(id=str(data.get("id", "")), web_id=int(data.get("web_id") or 0),
                   status=str(data.get("status", "")),
                   title=str(settings.get("title") or ""),
                   subject=str(settings.get("subject_line") or ""),
                   # Mailchimp says 0 (or nothing) when the whole audience is the target.
                   segment_id=int(segment) if segment else None,
                   emails_sent=int(data.get("emails_sent") or 0),
                   send_time=_moment(data.get("send_time")),
                   create_time=_moment(data.get("create_time")),
                   list_id=str(recipients.get("list_id") or ""),
                   recipient_count=int(recipients.get("recipient_count") or 0))
