"""Answers to run-for-office asks: check a link, record the click, a yes, a not now, a nomination.

Rules (the landing page says them in its own words):
- A link is good only for its recipient row, with the row's nonce, for a run-for-office
  campaign that left draft.
- Opening the link counts once: a mail scanner fetching it ten times adds one click.
- The first yes or not now stands. A second one, even a different one, changes nothing; the
  page says what they answered and how to reach the organization.
- Yes puts the contact in the pipeline at "interested", or moves them there, unless they
  already stand further along (in training, candidate, elected).
- Not now moves a recruit at prospect, contacted or interested to "declined". It never adds
  someone to the pipeline: a person who was never a recruit is not a declined recruit, and
  the answer itself is on their timeline and in the responses.
- Each nomination adds one nominee, as a contact who was never asked and so is never marketed
  to ("transactional"), and as a prospect remembering who nominated them. Nominating does not
  use up the nominator's own yes or not now.
- A contact staff deleted keeps their answers (or nomination) but is never brought back or
  moved in the pipeline by one; a merged-away contact's answers go to the survivor.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from crm import contacts, pipeline
from crm.errors import CRMError, ValidationFailed
from crm.models import OFFICES, ConsentEvent, Contact, utcnow
from crm.validation import normalize_email, normalize_phone

from . import tokens
from .campaign_models import ANSWERS, Campaign, Recipient, Response

# What staff read (the dashboard's rows and counts) lives beside the timeline source.
from .response_timeline import (
    ResponseRow,
    campaign_summaries,
    counts,
    counts_for_campaign,
    new_count,
    recent,
)

__all__ = ["LinkRefused", "Nomination", "Outcome", "ResponseRow", "answer", "campaign_of",
           "campaign_summaries", "clean_nomination", "counts", "counts_for_campaign",
           "new_count", "recent", "recipient_for", "record_click"]

LINK_STATUS = {"forged": 404, "unknown": 404, "expired": 410}
SELF_ANSWERS = ("interested", "declined")
# A yes never pulls back someone who is already further along than "interested".
AHEAD_OF_INTERESTED = ("in_training", "candidate", "elected")
# A not now only closes an open recruitment; those further along are for staff to judge.
DECLINABLE = ("prospect", "contacted", "interested")
NAME_MAX = 100
WHY_MAX = 1000
NOMINATION_FIELDS = ("name", "email", "phone", "office", "why")


class LinkRefused(CRMError):
    """A response link that is forged, expired or not ours to answer (reason says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"This response link cannot be used ({reason}).")
        self.reason = reason
        self.status_code = LINK_STATUS.get(reason, 404)


@dataclass(frozen=True)
class Nomination:
    """A validated nomination as the nominator wrote it."""

    name: str
    email: str
    email_key: str
    phone: str | None
    office: str
    why: str

    def detail(self) -> dict[str, Any]:
        """Return what the Response keeps of it."""
        return {"name": self.name, "email": self.email, "phone": self.phone,
                "office": self.office, "why": self.why}


@dataclass(frozen=True)
class Outcome:
    """What an answer did: ``recorded`` is False for a replay that changed nothing."""

    choice: str
    recorded: bool
    answer: str | None
    answered_at: datetime | None
    stage: str | None = None  # the pipeline stage afterwards (the nominee's for a nomination)
    nominee_id: int | None = None


def recipient_for(session: Session, secret_key: str, token: str, *,
                  max_age_days: int) -> Recipient:
    """Return the recipient a response token belongs to, or raise LinkRefused."""
    try:
        recipient_id, nonce = tokens.read(secret_key, token, max_age_days=max_age_days)
    except tokens.BadToken as exc:
        raise LinkRefused(exc.reason) from None
    recipient = session.get(Recipient, recipient_id)
    # A row without a nonce has no good token; compare in constant time all the same.
    if (recipient is None or not recipient.nonce
            or not hmac.compare_digest(recipient.nonce.encode(), nonce.encode())):
        raise LinkRefused("unknown")
    campaign = session.get(Campaign, recipient.campaign_id)
    if campaign is None or campaign.kind != "run_for_office" or campaign.status == "draft":
        raise LinkRefused("unknown")
    return recipient


def campaign_of(session: Session, recipient: Recipient) -> Campaign:
    """Return the recipient's campaign."""
    return session.get_one(Campaign, recipient.campaign_id)


def _contact_id(session: Session, recipient: Recipient) -> int:
    # A merged-away contact's answers belong to the contact it was merged into.
    return contacts.merged_into(session, recipient.contact_id) or recipient.contact_id


def _live(session: Session, contact_id: int) -> Contact | None:
    contact = session.get(Contact, contact_id)
    return contact if contact is not None and contact.deleted_at is None else None


def _actor(campaign: Campaign) -> str:
    return f"Run-for-office ask: {campaign.name}"[:320]


def record_click(session: Session, recipient: Recipient) -> bool:
    """Record the first opening of a recipient's link; tell whether this was the first."""
    now = utcnow()
    # One conditional UPDATE, so two scanners fetching at once still make one click.
    result = cast(CursorResult[Any], session.execute(
        update(Recipient).where(Recipient.id == recipient.id, Recipient.clicked_at.is_(None))
        .values(clicked_at=now).execution_options(synchronize_session=False)))
    session.refresh(recipient, ["clicked_at"])
    if result.rowcount != 1:
        return False
    session.add(Response(campaign_id=recipient.campaign_id, recipient_id=recipient.id,
                         contact_id=_contact_id(session, recipient), kind="clicked",
                         detail={}, created_at=now))
    session.flush()
    return True


def clean_nomination(data: Mapping[str, Any], *, region: str = "US") -> Nomination:
    """Validate a nomination's fields, collecting every error at once."""
    errors = {key: "Unknown field." for key in data if key not in NOMINATION_FIELDS}
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors["name"] = "Please give their name."
    elif len(name) > NAME_MAX:
        errors["name"] = f"At most {NAME_MAX} characters."
    email = email_key = ""
    try:
        email, email_key = normalize_email(str(data.get("email") or ""))
    except ValueError as exc:
        errors["email"] = str(exc)
    phone = None
    try:
        phone = normalize_phone(str(data.get("phone") or ""), region)
    except ValueError as exc:
        errors["phone"] = str(exc)
    office = str(data.get("office") or "").strip()
    if office and office not in OFFICES:
        errors["office"] = "Choose an office from the list, or leave it blank."
    why = str(data.get("why") or "").strip()
    if len(why) > WHY_MAX:
        errors["why"] = f"At most {WHY_MAX} characters."
    if errors:
        raise ValidationFailed(errors)
    return Nomination(name=name, email=email, email_key=email_key, phone=phone, office=office,
                      why=why)


def answer(session: Session, recipient: Recipient, choice: str, *,
           nomination: Mapping[str, Any] | None = None, region: str = "US") -> Outcome:
    """Record a recipient's answer (interested, declined or nominated) and act on it."""
    if choice not in ANSWERS:
        raise ValidationFailed({"choice": f"Must be one of: {', '.join(ANSWERS)}."})
    campaign = campaign_of(session, recipient)
    contact_id = _contact_id(session, recipient)
    if choice == "nominated":
        # Checked before anything is written, so a refused nomination leaves no trace.
        cleaned = clean_nomination(nomination or {}, region=region)
        nominee = _find_nominee(session, cleaned)
        if nominee is not None and nominee.id == contact_id:
            raise ValidationFailed({"email": "That is your own address. To run yourself, "
                                             "choose “Yes, I'm interested in running”."})
        record_click(session, recipient)
        return _nominate(session, recipient, campaign, contact_id, cleaned, nominee, region)
    record_click(session, recipient)  # an answer implies the link was opened
    now = utcnow()
    # Claim the answer in one conditional UPDATE: a double submit records it once.
    claimed = cast(CursorResult[Any], session.execute(
        update(Recipient)
        .where(Recipient.id == recipient.id,
               or_(Recipient.answer.is_(None), Recipient.answer == "nominated"))
        .values(answer=choice, answered_at=now).execution_options(synchronize_session=False)))
    session.refresh(recipient, ["answer", "answered_at"])
    if claimed.rowcount != 1:
        recruit = pipeline.find(session, contact_id)
        return Outcome(choice=choice, recorded=False, answer=recipient.answer,
                       answered_at=recipient.answered_at,
                       stage=recruit.stage if recruit else None)
    session.add(Response(campaign_id=campaign.id, recipient_id=recipient.id,
                         contact_id=contact_id, kind=choice, detail={}, created_at=now))
    session.flush()
    stage = _move(session, contact_id, choice, _actor(campaign))
    return Outcome(choice=choice, recorded=True, answer=choice, answered_at=now, stage=stage)


def _move(session: Session, contact_id: int, choice: str, actor: str) -> str | None:
    if _live(session, contact_id) is None:
        return None  # a deleted contact's answer is kept, but the pipeline is left alone
    recruit = pipeline.find(session, contact_id)
    if choice == "interested":
        if recruit is None:
            return pipeline.add_to_pipeline(session, contact_id, stage="interested",
                                            actor=actor).stage
        if recruit.stage not in AHEAD_OF_INTERESTED:
            pipeline.move(session, contact_id, "interested", actor=actor,
                          note="Said yes on the run-for-office page.")
        return recruit.stage
    if recruit is not None and recruit.stage in DECLINABLE:
        pipeline.move(session, contact_id, "declined", actor=actor,
                      note="Said not now on the run-for-office page.")
    return recruit.stage if recruit is not None else None


def _find_nominee(session: Session, nomination: Nomination) -> Contact | None:
    found = contacts.find_by_email(session, nomination.email_key)
    survivor = contacts.merged_into(session, found.id) if found is not None else None
    return session.get_one(Contact, survivor) if survivor else found


def _new_nominee(session: Session, nomination: Nomination, nominator: Contact | None,
                 campaign: Campaign, region: str) -> Contact:
    first, _, last = nomination.name.rpartition(" ")
    actor = _actor(campaign)
    # Nobody asked the nominee: they start as "transactional", never on the marketing list.
    contact = contacts.create(session, {
        "email": nomination.email, "first_name": first or last, "last_name": last if first else "",
        "phone": nomination.phone, "email_status": "transactional",
        "source": f"Nomination: {campaign.name}"[:100],
    }, actor=actor, method="form", region=region)
    event = session.scalar(select(ConsentEvent).where(ConsentEvent.contact_id == contact.id)
                           .order_by(ConsentEvent.id.desc()))
    if event is not None:
        who = nominator.full_name if nominator is not None else "a recipient"
        event.note = (f"Nominated by {who} on the run-for-office page; "
                      "never opted in to email.")[:500]
    return contact


def _nominate(session: Session, recipient: Recipient, campaign: Campaign, contact_id: int,
              nomination: Nomination, nominee: Contact | None, region: str) -> Outcome:
    nominator = _live(session, contact_id)
    created = nominee is None
    if nominee is None:
        nominee = _new_nominee(session, nomination, nominator, campaign, region)
    stage = None
    if nominee.deleted_at is None:
        recruit = pipeline.find(session, nominee.id)
        if recruit is None:
            recruit = pipeline.add_to_pipeline(session, nominee.id, stage="prospect",
                                               office=nomination.office or None,
                                               actor=_actor(campaign))
        if recruit.nominated_by_id is None and nominator is not None:
            recruit.nominated_by_id = contact_id
        stage = recruit.stage
    now = utcnow()
    session.add(Response(campaign_id=campaign.id, recipient_id=recipient.id,
                         contact_id=contact_id, kind="nominated", nominee_id=nominee.id,
                         detail={**nomination.detail(), "new_contact": created},
                         created_at=now))
    # Mark the recipient as having nominated, unless they already answered for themselves.
    session.execute(update(Recipient)
                    .where(Recipient.id == recipient.id, Recipient.answer.is_(None))
                    .values(answer="nominated", answered_at=now)
                    .execution_options(synchronize_session=False))
    session.flush()
    session.refresh(recipient, ["answer", "answered_at"])
    return Outcome(choice="nominated", recorded=True, answer=recipient.answer,
                   answered_at=recipient.answered_at, stage=stage, nominee_id=nominee.id)

