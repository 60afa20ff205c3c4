"""The recruitment pipeline: add recruits, move them between stages, the board and the funnel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, union
from sqlalchemy.orm import Session

from . import audit, contacts
from .errors import NotFound, ValidationFailed
from .models import OFFICES, STAGES, Contact, Recruit, StaffUser, StageChange, utcnow

STAGE_LABELS = {
    "prospect": "Prospect", "contacted": "Contacted", "interested": "Interested",
    "in_training": "In training", "candidate": "Candidate", "elected": "Elected",
    "declined": "Declined",
}
OFFICE_LABELS = {
    "school_board": "School board", "city_council": "City council",
    "county_board": "County board", "state_house": "State house",
    "state_senate": "State senate", "other": "Other",
}
# The funnel's steps in order; "declined" leaves the funnel and is counted beside it.
FUNNEL_STAGES = tuple(s for s in STAGES if s != "declined")
DETAILS = ("office", "jurisdiction", "owner")
MAX_LENGTHS = {"jurisdiction": 200, "owner": 320, "note": 500}
BOARD_PER_STAGE = 50


@dataclass(frozen=True)
class Card:
    """One recruit on the board."""

    contact_id: int
    name: str
    stage: str
    office: str | None
    jurisdiction: str | None
    owner: str | None


@dataclass(frozen=True)
class Column:
    """One stage of the board: how many recruits it holds and the first of them by name."""

    stage: str
    count: int
    cards: list[Card]


@dataclass(frozen=True)
class Step:
    """One bar of the funnel: how many recruits ever reached a stage."""

    stage: str
    count: int
    percent: int


@dataclass(frozen=True)
class Funnel:
    """The funnel from prospect to elected, and the declined beside it."""

    steps: list[Step]
    declined: Step


def clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Validate recruit fields (stage, office, jurisdiction, owner, note), all at once."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key in data:
        if key not in (*DETAILS, "stage", "note"):
            errors[key] = "Unknown field."
    if "stage" in data:
        if data["stage"] in STAGES:
            out["stage"] = data["stage"]
        else:
            errors["stage"] = f"Must be one of: {', '.join(STAGES)}."
    if "office" in data:
        office = data["office"] or None
        if office is None or office in OFFICES:
            out["office"] = office
        else:
            errors["office"] = f"Must be one of: {', '.join(OFFICES)}."
    for key in ("jurisdiction", "owner", "note"):
        if key not in data:
            continue
        text = str(data[key] or "").strip()
        if len(text) > MAX_LENGTHS[key]:
            errors[key] = f"At most {MAX_LENGTHS[key]} characters."
        out[key] = text or None
    if errors:
        raise ValidationFailed(errors)
    return out


def find(session: Session, contact_id: int) -> Recruit | None:
    """Return the contact's recruit record, if they are in the pipeline."""
    return session.get(Recruit, contact_id)


def get(session: Session, contact_id: int) -> Recruit:
    """Return a live contact's recruit record or raise NotFound."""
    contacts.get(session, contact_id)
    recruit = find(session, contact_id)
    if recruit is None:
        raise NotFound(f"Contact #{contact_id} is not in the pipeline.")
    return recruit


def _details(recruit: Recruit) -> dict[str, Any]:
    return {"stage": recruit.stage, "office": recruit.target_office,
            "jurisdiction": recruit.jurisdiction, "owner": recruit.owner}


def add_to_pipeline(session: Session, contact_id: int, *, stage: str = "prospect",
                    office: str | None = None, jurisdiction: str | None = None,
                    owner: str | None = None, actor: str) -> Recruit:
    """Put a contact in the pipeline at a stage, recording how they entered it."""
    contacts.get(session, contact_id)
    fields = clean({"stage": stage, "office": office, "jurisdiction": jurisdiction,
                    "owner": owner})
    if find(session, contact_id) is not None:
        raise ValidationFailed({"contact_id": "This contact is already in the pipeline."})
    recruit = Recruit(contact_id=contact_id, stage=fields["stage"],
                      target_office=fields["office"], jurisdiction=fields["jurisdiction"],
                      owner=fields["owner"])
    session.add(recruit)
    session.add(StageChange(contact_id=contact_id, from_stage=None, to_stage=recruit.stage,
                            actor=actor))
    session.flush()
    audit.record(session, actor=actor, action="create", entity_type="recruit",
                 entity_id=contact_id, changes=audit.diff({}, _details(recruit)))
    return recruit


def move(session: Session, contact_id: int, to_stage: str, *, actor: str,
         note: str | None = None) -> StageChange | None:
    """Move a recruit to a stage; return the recorded change, or None if already there."""
    fields = clean({"stage": to_stage, "note": note})
    recruit = get(session, contact_id)
    if recruit.stage == fields["stage"]:
        return None
    change = StageChange(contact_id=contact_id, from_stage=recruit.stage,
                         to_stage=fields["stage"], actor=actor, note=fields["note"])
    recruit.stage = fields["stage"]
    recruit.updated_at = utcnow()
    session.add(change)
    session.flush()
    return change


def update_details(session: Session, contact_id: int, data: Mapping[str, Any], *,
                   actor: str) -> Recruit:
    """Change a recruit's office, jurisdiction or owner; fields left out keep their values."""
    fields = clean(data)
    if "stage" in fields or "note" in fields:
        raise ValidationFailed({"stage": "Move a recruit to change their stage."})
    recruit = get(session, contact_id)
    before = _details(recruit)
    for key, value in fields.items():
        setattr(recruit, "target_office" if key == "office" else key, value)
    changes = audit.diff(before, _details(recruit))
    if changes:
        recruit.updated_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="update", entity_type="recruit",
                     entity_id=contact_id, changes=changes)
    return recruit


def save(session: Session, contact_id: int, data: Mapping[str, Any], *,
         actor: str) -> tuple[Recruit, bool]:
    """Create or update a recruit from details and a stage; tell whether it was created."""
    fields = clean(data)
    details = {k: v for k, v in fields.items() if k in DETAILS}
    if find(session, contact_id) is None:
        recruit = add_to_pipeline(session, contact_id, stage=fields.get("stage", "prospect"),
                                  actor=actor, **details)
        return recruit, True
    update_details(session, contact_id, details, actor=actor)
    if "stage" in fields:
        move(session, contact_id, fields["stage"], actor=actor, note=fields.get("note"))
    return get(session, contact_id), False


def remove(session: Session, contact_id: int, *, actor: str) -> None:
    """Take a contact out of the pipeline; their stage history is kept."""
    recruit = get(session, contact_id)
    before = _details(recruit)
    session.delete(recruit)
    session.flush()
    audit.record(session, actor=actor, action="delete", entity_type="recruit",
                 entity_id=contact_id, changes=audit.diff(before, {}))


def history(session: Session, contact_id: int) -> list[StageChange]:
    """Return a contact's stage changes, newest first (kept after removal too)."""
    stmt = (select(StageChange).where(StageChange.contact_id == contact_id)
            .order_by(StageChange.id.desc()))
    return list(session.scalars(stmt))


def _where(office: str = "", owner: str = "") -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Contact.deleted_at.is_(None)]
    if office:
        if office not in OFFICES:
            raise ValidationFailed({"office": f"Must be one of: {', '.join(OFFICES)}."})
        where.append(Recruit.target_office == office)
    if owner:
        where.append(Recruit.owner == owner)
    return where


def _counts(session: Session, where: list[ColumnElement[bool]]) -> dict[str, int]:
    stmt = (select(Recruit.stage, func.count()).join(Contact, Contact.id == Recruit.contact_id)
            .where(*where).group_by(Recruit.stage))
    found: dict[str, int] = {stage: count for stage, count in session.execute(stmt)}
    return {stage: found.get(stage, 0) for stage in STAGES}


def board(session: Session, *, office: str = "", owner: str = "",
          per_stage: int = BOARD_PER_STAGE) -> list[Column]:
    """Return every stage with its count and its first recruits by name."""
    where = _where(office, owner)
    counts = _counts(session, where)
    columns = []
    for stage in STAGES:
        stmt = (select(Recruit, Contact).join(Contact, Contact.id == Recruit.contact_id)
                .where(Recruit.stage == stage, *where)
                .order_by(Contact.last_name_key, Contact.first_name_key, Contact.id)
                .limit(per_stage))
        cards = [Card(contact_id=c.id, name=c.full_name, stage=r.stage, office=r.target_office,
                      jurisdiction=r.jurisdiction, owner=r.owner)
                 for r, c in session.execute(stmt)] if counts[stage] else []
        columns.append(Column(stage=stage, count=counts[stage], cards=cards))
    return columns


def funnel(session: Session, *, office: str = "", owner: str = "") -> Funnel:
    """Count the recruits who ever reached each stage, by their stage history.

    A recruit reached a stage when a stage change led there or it is their current stage.
    Everyone in the pipeline counts as a prospect, and reaching a step counts for every
    step before it (staff skip stages), so the funnel never widens downward.
    """
    where = _where(office, owner)
    live = select(Recruit.contact_id).join(Contact, Contact.id == Recruit.contact_id).where(*where)
    reached = union(
        select(StageChange.contact_id, StageChange.to_stage.label("stage"))
        .where(StageChange.contact_id.in_(live)),
        select(Recruit.contact_id, Recruit.stage.label("stage"))
        .join(Contact, Contact.id == Recruit.contact_id).where(*where),
    ).subquery()
    furthest: dict[int, int] = {}
    declined = 0
    for contact_id, stage in session.execute(select(reached.c.contact_id, reached.c.stage)):
        if stage == "declined":
            declined += 1
        rank = FUNNEL_STAGES.index(stage) if stage in FUNNEL_STAGES else 0
        furthest[contact_id] = max(rank, furthest.get(contact_id, 0))
    total = len(furthest)
    counts = [sum(1 for rank in furthest.values() if rank >= i)
              for i in range(len(FUNNEL_STAGES))]

    def step(stage: str, count: int) -> Step:
        return Step(stage=stage, count=count, percent=round(100 * count / total) if total else 0)

    return Funnel(steps=[step(s, n) for s, n in zip(FUNNEL_STAGES, counts, strict=True)],
                  declined=step("declined", declined))


def stage_counts(session: Session) -> dict[str, int]:
    """Return how many live recruits stand at each stage."""
    return _counts(session, _where())


def owners(session: Session) -> list[str]:
    """Return the owners recruits have, for the board's filter."""
    stmt = (select(Recruit.owner).distinct().where(Recruit.owner.is_not(None))
            .order_by(Recruit.owner))
    return [owner for owner in session.scalars(stmt) if owner]


def staff_owners(session: Session) -> list[tuple[str, str]]:
    """Return (email, label) of the active staff accounts that can own recruits."""
    stmt = select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.email)
    return [(u.email, f"{u.name} ({u.email})" if u.name else u.email)
            for u in session.scalars(stmt)]
