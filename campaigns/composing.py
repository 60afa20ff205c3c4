"""Writing a campaign: create, edit (only while a draft), read and list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.errors import CRMError, NotFound, ValidationFailed
from crm.segments import service as segments
from crm.validation import normalize_email

from . import asks, starters
from .campaign_models import FORMATS, KINDS, STATUSES, Campaign

EDITABLE = ("kind", "name", "subject", "preview_text", "from_name", "reply_to", "body",
            "body_format", "segment_id", "ask_config", "donate_url", "skip_recent_days",
            "require_approval")
LIMITS = {"name": 200, "subject": 150, "preview_text": 150, "from_name": 100,
          "donate_url": 500, "body": 200_000}
PAGE = 50


class ReadOnly(CRMError):
    """The campaign is past draft: only cancelling (or moving it back to draft) is allowed."""

    status_code = 409


@dataclass(frozen=True)
class Defaults:
    """The organization's defaults a new campaign starts from."""

    from_name: str = ""
    reply_to: str = ""
    donate_url: str = ""


def _text(field: str, value: Any, errors: dict[str, str]) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > LIMITS.get(field, 200):
        errors[field] = f"Keep this under {LIMITS.get(field, 200):,} characters."
    return text


def _url(value: Any, errors: dict[str, str]) -> str:
    text = _text("donate_url", value, errors)
    if text and (urlsplit(text).scheme not in ("http", "https") or not urlsplit(text).netloc):
        errors["donate_url"] = "Give the donation page's full address, starting with https://."
    return text


def clean(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the known fields of ``data`` checked and normalised, or raise ValidationFailed."""
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - set(EDITABLE))
    for name in unknown:
        errors[name] = "Unknown field."
    out: dict[str, Any] = {}
    for name in ("name", "subject", "preview_text", "from_name", "body"):
        if name in data:
            out[name] = _text(name, data[name], errors)
    if "name" in out and not out["name"]:
        errors["name"] = "Give the campaign a name staff will recognise."
    if "kind" in data:
        out["kind"] = str(data["kind"] or "")
        if out["kind"] not in KINDS:
            errors["kind"] = f"Choose one of: {', '.join(KINDS)}."
    if "body_format" in data:
        out["body_format"] = str(data["body_format"] or "markdown")
        if out["body_format"] not in FORMATS:
            errors["body_format"] = f"Choose one of: {', '.join(FORMATS)}."
    if "reply_to" in data:
        raw = str(data["reply_to"] or "").strip()
        try:
            out["reply_to"] = normalize_email(raw)[0] if raw else ""
        except ValueError as exc:
            errors["reply_to"] = str(exc)
    if "donate_url" in data:
        out["donate_url"] = _url(data["donate_url"], errors)
    if "segment_id" in data:
        out["segment_id"] = _segment(session, data["segment_id"], errors)
    if "ask_config" in data:
        try:
            out["ask_config"] = asks.AskConfig.from_dict(data["ask_config"] or {}).as_dict()
        except ValidationFailed as exc:
            errors.update({f"ask_config.{k}": v for k, v in exc.errors.items()})
    if "skip_recent_days" in data:
        out["skip_recent_days"] = _days(data["skip_recent_days"], errors)
    if "require_approval" in data:
        out["require_approval"] = bool(data["require_approval"])
    if errors:
        raise ValidationFailed(errors)
    return out


def _segment(session: Session, value: Any, errors: dict[str, str]) -> int | None:
    if value in (None, ""):
        return None
    try:
        segment_id = int(value)
        segments.get(session, segment_id)
    except (TypeError, ValueError, NotFound):
        errors["segment_id"] = "Choose a saved segment."
        return None
    return segment_id


def _days(value: Any, errors: dict[str, str]) -> int | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = -1
    if not 1 <= days <= 365:
        errors["skip_recent_days"] = "Give a number of days from 1 to 365, or leave it empty."
        return None
    return days


def _apply(session: Session, campaign: Campaign, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        setattr(campaign, name, value)
    if "segment_id" in fields:
        segment = segments.get(session, fields["segment_id"]) if fields["segment_id"] else None
        campaign.segment_name = segment.name if segment else None


def create(session: Session, data: Mapping[str, Any], *, actor: str,
           defaults: Defaults = Defaults()) -> Campaign:
    """Start a draft; what is left out comes from the kind's starter and the defaults."""
    fields = clean(session, data)
    kind = fields.get("kind", "general")
    if "name" not in fields:
        raise ValidationFailed({"name": "Give the campaign a name staff will recognise."})
    starter = starters.starter(kind)
    campaign = Campaign(kind=kind, name=fields["name"], status="draft", created_by=actor,
                        subject=starter.subject, preview_text=starter.preview_text,
                        body=starter.body, body_format=starter.fmt,
                        from_name=defaults.from_name, reply_to=defaults.reply_to,
                        donate_url=defaults.donate_url, ask_config=asks.AskConfig().as_dict(),
                        require_approval=kind == "chip_in")
    _apply(session, campaign, fields)
    session.add(campaign)
    session.flush()
    campaign.refcode = asks.refcode_for(campaign.id, campaign.kind)
    session.flush()
    return campaign


def get(session: Session, campaign_id: int) -> Campaign:
    """Return a campaign by id or raise NotFound."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign #{campaign_id}.")
    return campaign


def update(session: Session, campaign_id: int, data: Mapping[str, Any], *,
           actor: str) -> Campaign:
    """Change a draft; any other status is read-only."""
    campaign = get(session, campaign_id)
    if campaign.status != "draft":
        raise ReadOnly(f"This campaign is {campaign.status}: move it back to draft to edit it.")
    fields = clean(session, data)
    _apply(session, campaign, fields)
    session.flush()
    return campaign


def listing(session: Session, *, status: str = "", kind: str = "", before_id: int | None = None,
            limit: int = PAGE) -> tuple[list[Campaign], int | None]:
    """Return a page of campaigns, newest first, and the id to continue before (or None)."""
    stmt = select(Campaign).order_by(Campaign.id.desc()).limit(limit + 1)
    if status in STATUSES:
        stmt = stmt.where(Campaign.status == status)
    if kind in KINDS:
        stmt = stmt.where(Campaign.kind == kind)
    if before_id is not None:
        stmt = stmt.where(Campaign.id < before_id)
    rows = list(session.scalars(stmt))
    more = rows[limit - 1].id if len(rows) > limit else None
    return rows[:limit], more


def status_counts(session: Session) -> dict[str, int]:
    """Return how many campaigns are in each status."""
    rows = session.execute(select(Campaign.status, func.count()).group_by(Campaign.status))
    return {status: n for status, n in rows}
