"""Demo setup for campaigns: segments to send to, a suppression group, a second organizer.

With it a new user of the demo can write an appeal and an ask from the starters, have the
second organizer approve, send to the sandbox and answer from its inbox.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import groups, staff
from crm.models import Contact, Group, StaffUser
from crm.segments import service as segments

ACTOR = "demo"
SEGMENTS = {
    "Recent donors": ("Gave in the last year and still on the list",
                      "donations.last_at within 365d and email_status = subscribed"),
    "Recruitment prospects": ("People we hope will run: prospects and contacted recruits",
                              "recruitment.stage in (prospect, contacted)"),
}
SUPPRESSION = "Do not email"
SUPPRESSED = 12  # demo contacts who asked never to get appeals
ORGANIZER = "organizer@example.org"


@dataclass
class Outcome:
    """What the demo setup made."""

    segments: list[str] = field(default_factory=list)
    suppressed: int = 0
    organizer_password: str | None = None


def load(session: Session) -> Outcome:
    """Create what is missing of the campaigns demo; leave what exists alone."""
    outcome = Outcome()
    for name, (description, text) in SEGMENTS.items():
        if segments.find_by_name(session, name) is None:
            segments.create(session, {"name": name, "description": description, "text": text},
                            actor=ACTOR)
            outcome.segments.append(name)
    group = session.scalar(select(Group).where(Group.name == SUPPRESSION))
    if group is None:
        group = groups.create(session, SUPPRESSION,
                              "Contacts who asked for no appeals: campaigns leave them out.",
                              actor=ACTOR)
        ids = session.scalars(select(Contact.id).where(Contact.deleted_at.is_(None))
                              .order_by(Contact.id.desc()).limit(SUPPRESSED))
        for contact_id in ids:
            if groups.add_member(session, group.id, contact_id, actor=ACTOR):
                outcome.suppressed += 1
    if session.scalar(select(StaffUser).where(StaffUser.email == ORGANIZER)) is None:
        outcome.organizer_password = secrets.token_urlsafe(12)
        staff.create_user(session, ORGANIZER, outcome.organizer_password, role="organizer",
                          name="Demo Organizer")
    session.flush()
    return outcome
