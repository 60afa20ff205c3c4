"""What staff see of run-for-office responses: timeline entries and the dashboard's numbers.

Every response shows on its contact's timeline, and a nomination on the nominee's too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from crm.models import Contact
from crm.pipeline import OFFICE_LABELS
from crm.timeline import TimelineEntry

from .campaign_models import ANSWERS, RESPONSE_KINDS, Campaign, Response

TITLES = {
    "clicked": "Opened the run-for-office link",
    "interested": "Said yes to running",
    "declined": "Said not now to running",
}


def _name(person: Contact | None, fallback: str) -> str:
    return person.full_name if person is not None else fallback


def _nomination_body(detail: dict[str, object], *, with_contact: bool) -> str:
    lines = []
    if with_contact:
        lines.append(" · ".join(str(detail[k]) for k in ("email", "phone") if detail.get(k)))
    office = str(detail.get("office") or "")
    if office:
        lines.append(f"Office: {OFFICE_LABELS.get(office, office)}")
    if detail.get("why"):
        lines.append(f"Why: {detail['why']}")
    return "\n".join(line for line in lines if line)


def _people(session: Session, found: list[tuple[Response, str]]) -> dict[int, Contact]:
    ids = {i for r, _ in found for i in (r.contact_id, r.nominee_id) if i is not None}
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(ids)))}


def timeline_entries(session: Session, contact_id: int) -> list[TimelineEntry]:
    """Return a contact's responses, and nominations of them, as timeline entries."""
    stmt = (select(Response, Campaign.name).join(Campaign, Campaign.id == Response.campaign_id)
            .where(or_(Response.contact_id == contact_id,
                       (Response.nominee_id == contact_id) & (Response.kind == "nominated"))))
    found = [(response, name) for response, name in session.execute(stmt)]
    people = _people(session, found)
    entries = []
    for response, campaign in found:
        detail = dict(response.detail or {})
        if response.kind != "nominated":
            title, body = f"{TITLES.get(response.kind, response.kind)} ({campaign})", ""
        elif response.contact_id == contact_id:
            nominee = people.get(response.nominee_id or 0)
            title = f"Nominated {_name(nominee, str(detail.get('name') or 'someone'))} ({campaign})"
            body = _nomination_body(detail, with_contact=True)
        else:
            nominator = people.get(response.contact_id or 0)
            title = f"Was nominated by {_name(nominator, 'a recipient')} ({campaign})"
            body = _nomination_body(detail, with_contact=False)
        entries.append(TimelineEntry(at=response.created_at, kind="campaign", title=title,
                                     body=body))
    return entries


# The responses page: the newest responses, and counts per kind.

@dataclass(frozen=True)
class ResponseRow:
    """One response with its campaign's name and the people it names."""

    response: Response
    campaign_name: str
    contact: Contact | None
    nominee: Contact | None


def recent(session: Session, *, since: datetime | None = None, limit: int = 50,
           kind: str | None = None, campaign_id: int | None = None,
           before_id: int | None = None) -> list[ResponseRow]:
    """Return the newest responses first, optionally of one kind or campaign, before an id."""
    stmt = (select(Response, Campaign.name).join(Campaign, Campaign.id == Response.campaign_id)
            .order_by(Response.id.desc()).limit(limit))
    if since is not None:
        stmt = stmt.where(Response.created_at >= since)
    if kind:
        stmt = stmt.where(Response.kind == kind)
    if campaign_id is not None:
        stmt = stmt.where(Response.campaign_id == campaign_id)
    if before_id is not None:
        stmt = stmt.where(Response.id < before_id)
    found = [(response, name) for response, name in session.execute(stmt)]
    people = _people(session, found)
    return [ResponseRow(response=r, campaign_name=name,
                        contact=people.get(r.contact_id) if r.contact_id else None,
                        nominee=people.get(r.nominee_id) if r.nominee_id else None)
            for r, name in found]


def counts(session: Session, *, campaign_id: int | None = None,
           since: datetime | None = None) -> dict[str, int]:
    """Return how many responses there are of each kind (every kind, zero included)."""
    stmt = select(Response.kind, func.count()).group_by(Response.kind)
    if campaign_id is not None:
        stmt = stmt.where(Response.campaign_id == campaign_id)
    if since is not None:
        stmt = stmt.where(Response.created_at >= since)
    found = {kind: count for kind, count in session.execute(stmt)}
    return {kind: int(found.get(kind, 0)) for kind in RESPONSE_KINDS}


def counts_for_campaign(session: Session, campaign_id: int) -> dict[str, int]:
    """Return one campaign's responses per kind."""
    return counts(session, campaign_id=campaign_id)


def new_count(session: Session, since: datetime) -> int:
    """Return how many answers (yes, not now, nominations; not clicks) came in since then."""
    stmt = select(func.count()).select_from(Response).where(
        Response.created_at >= since, Response.kind.in_(ANSWERS))
    return int(session.scalar(stmt) or 0)


def campaign_summaries(session: Session, limit: int = 20) -> list[tuple[Campaign, dict[str, int]]]:
    """Return the newest run-for-office campaigns past draft, each with its counts."""
    stmt = (select(Campaign).where(Campaign.kind == "run_for_office", Campaign.status != "draft")
            .order_by(Campaign.id.desc()).limit(limit))
    found = list(session.scalars(stmt))
    per: dict[int, dict[str, int]] = {c.id: dict.fromkeys(RESPONSE_KINDS, 0) for c in found}
    if per:
        grouped = (select(Response.campaign_id, Response.kind, func.count())
                   .where(Response.campaign_id.in_(per)).group_by(Response.campaign_id,
                                                                  Response.kind))
        for campaign_id, kind, count in session.execute(grouped):
            if kind in per[campaign_id]:
                per[campaign_id][kind] = int(count)
    return [(c, per[c.id]) for c in found]
