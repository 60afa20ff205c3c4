"""Which contacts a sync covers and what each needs: add, update, leave alone or skip."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from crm.errors import ValidationFailed
from crm.models import Contact, Tag, contact_tags
from crm.segments import service as segments
from crm.segments.compiler import compile_rule
from crm.segments.dates import Clock

from . import members, review
from .members import ContactRow
from .models import LedgerEntry, Recipient, ReviewItem, SyncRun

CHUNK = 2000
# Addresses were checked on the way in; this only catches what older data let through.
_PLAUSIBLE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SAMPLE_MAX = 10
ACTIONS = ("add", "update", "unchanged", "skip")


@dataclass(frozen=True)
class Known:
    """What the ledger says Mailchimp holds for a contact (the payload is read on demand)."""

    email: str
    status: str
    payload_hash: str
    tags_text: str  # the ledger's tags as stored (JSON); compared as text, parsed when needed

    @property
    def tags(self) -> list[str]:
        """Return the tags Mailchimp holds from us."""
        value = json.loads(self.tags_text or "[]")
        return [str(t) for t in value] if isinstance(value, list) else []


def tags_text(tags: list[str]) -> str:
    """Return tags as the ledger stores them, to compare without parsing every row."""
    return json.dumps(tags) if tags else "[]"


@dataclass
class Planned:
    """One contact's part in a sync."""

    contact_id: int
    email: str
    action: str
    reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    hash: str = ""
    text: str = ""  # the flattened payload: what the ledger keeps
    tags: list[str] = field(default_factory=list)
    previous: Known | None = None

    @property
    def email_changed(self) -> bool:
        """Tell whether Mailchimp knows this contact under another address."""
        return (self.previous is not None
                and self.previous.email.strip().lower() != self.email.strip().lower())


def _live() -> ColumnElement[bool]:
    return and_(Contact.deleted_at.is_(None), Contact.merged_into_id.is_(None))


def scope_condition(session: Session, sync: SyncRun, clock: Clock | None = None
                    ) -> ColumnElement[bool]:
    """Return the contacts a sync covers.

    Besides its segment (or everyone subscribed or pending), every sync carries the opt-outs
    made here for members Mailchimp still holds as reachable, so an unsubscribe always flows.
    """
    if sync.scope == "campaign":
        chosen = Contact.id.in_(select(Recipient.contact_id).where(
            Recipient.campaign_id == sync.campaign_id, Recipient.included.is_(True)))
    elif sync.scope == "segment":
        if sync.segment_id is None:
            raise ValidationFailed({"segment": "The segment of this sync was deleted."})
        rule = segments.rule_of(segments.get(session, sync.segment_id))
        chosen: ColumnElement[bool] = compile_rule(rule, clock=clock, session=session)
    else:
        chosen = and_(_live(), Contact.email_status.in_(("subscribed", "pending")))
    pending_opt_out = Contact.id.in_(
        select(LedgerEntry.contact_id).where(
            LedgerEntry.audience_id == sync.audience_id,
            LedgerEntry.status.in_(("subscribed", "pending", "transactional")),
        )
    ) & Contact.email_status.in_(("unsubscribed", "cleaned", "transactional")) & _live()
    return or_(chosen, pending_opt_out)


def count_scope(session: Session, sync: SyncRun, clock: Clock | None = None) -> int:
    """Count the contacts a sync covers."""
    condition = scope_condition(session, sync, clock)
    return int(session.scalar(select(func.count()).select_from(Contact).where(condition)) or 0)


def _among(column: Any, ids: list[int], dense: bool) -> ColumnElement[bool]:
    # A dense run of ids is read as a range (no list of bound values); a sparse one by list.
    return column.between(ids[0], ids[-1]) if dense else column.in_(ids)


def _tags_of(session: Session, ids: list[int], dense: bool) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(contact_tags.c.contact_id, Tag.name)
        .join(Tag, Tag.id == contact_tags.c.tag_id)
        .where(_among(contact_tags.c.contact_id, ids, dense))
    )
    for contact_id, name in rows:
        found[contact_id].append(name)
    return {k: sorted(v, key=str.lower) for k, v in found.items()}


def classify(row: ContactRow, tags: list[str], previous: Known | None,
             refused: set[str] | None = None,
             extra: dict[str, Any] | None = None) -> Planned:
    """Decide what one contact needs, from its row, its tags, the ledger and past refusals.

    ``extra`` holds a campaign's merge values for this recipient: they are always sent
    (they differ per campaign), while the ledger keeps tracking the member's own fields.
    """
    known = previous.status if previous is not None else None
    if not _PLAUSIBLE.fullmatch(row.email or ""):
        return Planned(row.id, row.email, "skip", "invalid email", previous=previous)
    status, reason = members.outgoing_status(row.email_status, known)
    if status is None:
        return Planned(row.id, row.email, "skip", reason, previous=previous)
    text = members.flatten_row(row, status)
    digest = members.text_hash(text)
    if refused and digest in refused:
        # Mailchimp refused exactly this before: retrying costs a call and fails again.
        return Planned(row.id, row.email, "skip", "refused by Mailchimp (see the review queue)",
                       previous=previous)
    if extra is None and previous is not None and previous.payload_hash == digest \
            and previous.tags_text == tags_text(tags):
        return Planned(row.id, row.email, "unchanged", hash=digest, text=text, tags=tags,
                       previous=previous)
    body = members.payload(row, status)
    if extra:
        body["merge_fields"].update(extra)
    return Planned(row.id, row.email, "add" if previous is None else "update",
                   payload=body, hash=digest, text=text, tags=tags, previous=previous)


_COLUMNS = (Contact.id, Contact.email, Contact.email_status, Contact.first_name,
            Contact.last_name, Contact.phone, Contact.street, Contact.city, Contact.state,
            Contact.zip)
# The tags as stored text: parsing a JSON list per contact was a fifth of a re-sync.
_LEDGER = (LedgerEntry.email, LedgerEntry.status, LedgerEntry.payload_hash,
           cast(LedgerEntry.tags, Text))


def scope_ids(session: Session, sync: SyncRun, *, after_id: int = 0,
              clock: Clock | None = None) -> list[int]:
    """Return the ids of the sync's contacts after ``after_id``, in order."""
    # Ids only (a few MB at a million); the rows are then read a chunk at a time by id.
    # Paging the scope condition itself made SQLite re-sort the whole scope per chunk.
    condition = scope_condition(session, sync, clock)
    return list(session.scalars(
        select(Contact.id).where(condition, Contact.id > after_id).order_by(Contact.id)))


def walk(session: Session, sync: SyncRun, *, after_id: int = 0, clock: Clock | None = None,
         chunk: int = CHUNK, ids: list[int] | None = None) -> Iterator[Planned]:
    """Yield every contact of the sync in id order after ``after_id``, classified."""
    if ids is None:
        ids = scope_ids(session, sync, after_id=after_id, clock=clock)
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        dense = part[-1] - part[0] < 2 * len(part)
        rows = session.execute(
            select(*_COLUMNS, *_LEDGER)
            .outerjoin(LedgerEntry, and_(LedgerEntry.contact_id == Contact.id,
                                         LedgerEntry.audience_id == sync.audience_id))
            .where(_among(Contact.id, part, dense))
            .order_by(Contact.id)
        ).all()
        if dense and len(rows) != len(part):
            wanted = set(part)
            rows = [r for r in rows if r[0] in wanted]
        tags = _tags_of(session, part, dense)
        refused = review.refused(session, _among(ReviewItem.contact_id, part, dense))
        extras = _campaign_values(session, sync, part, dense)
        for r in rows:
            row = ContactRow(*r[:10])
            known = Known(r[10], r[11], r[12], r[13] or "[]") if r[11] else None
            yield classify(row, tags.get(row.id, []), known, refused.get(row.id),
                           extras.get(row.id) if extras is not None else None)


_CAMPAIGN_TAGS = frozenset(tag for tag, _, _ in members.CAMPAIGN_FIELDS)


def _campaign_values(session: Session, sync: SyncRun, ids: list[int],
                     dense: bool) -> dict[int, dict[str, Any]] | None:
    """Return a campaign send's merge values by contact (None for other syncs)."""
    if sync.scope != "campaign":
        return None
    rows = session.execute(select(Recipient.contact_id, Recipient.merge_values).where(
        Recipient.campaign_id == sync.campaign_id, Recipient.included.is_(True),
        _among(Recipient.contact_id, ids, dense)))
    return {cid: {k: v for k, v in (values or {}).items() if k in _CAMPAIGN_TAGS}
            for cid, values in rows}


def _sample_change(item: Planned, previous: dict[str, Any]) -> dict[str, Any]:
    changes = [{"field": f, "before": b, "after": a}
               for f, b, a in members.field_changes(previous, item.payload)]
    old_tags = set(item.previous.tags or []) if item.previous is not None else set()
    added, removed = sorted(set(item.tags) - old_tags), sorted(old_tags - set(item.tags))
    if added or removed:
        changes.append({"field": "tags", "before": ", ".join(removed) or "",
                        "after": ", ".join(added) or ""})
    return {"contact_id": item.contact_id, "email": item.email, "changes": changes}


@dataclass
class DryRun:
    """A sync's plan: counts by action, skip reasons, and samples of what would change."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    reasons: dict[str, int] = field(default_factory=dict)
    sample_adds: list[dict[str, Any]] = field(default_factory=list)
    sample_updates: list[dict[str, Any]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)

    def add(self, item: Planned, session: Session | None = None,
            audience_id: str = "") -> None:
        """Count one classified contact (the session reads old payloads for the samples)."""
        self.counts[item.action] += 1
        if item.action == "skip":
            self.reasons[item.reason] = self.reasons.get(item.reason, 0) + 1
        elif item.action == "add" and len(self.sample_adds) < SAMPLE_MAX:
            self.sample_adds.append(_sample_change(item, {}))
        elif item.action == "update" and len(self.sample_updates) < SAMPLE_MAX:
            entry = (session.get(LedgerEntry, (audience_id, item.contact_id))
                     if session is not None else None)
            self.sample_updates.append(_sample_change(item, entry.payload if entry else {}))
        if item.action in ("add", "update"):
            self.tags.update(item.tags)

    def as_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-ready data."""
        return {"counts": dict(self.counts), "reasons": dict(sorted(self.reasons.items())),
                "sample_adds": self.sample_adds, "sample_updates": self.sample_updates,
                "tags": sorted(self.tags, key=str.lower),
                "to_push": self.counts["add"] + self.counts["update"]}
