"""Saved segments: create, read, change and delete them from JSON or text; resolve and preview.

Services flush and never commit; the edge that calls them commits. A rule that does not
parse raises ``InvalidRule`` (a ``ValidationFailed``) carrying the ``SegmentError`` with its
kind and position, so the edges can show where the mistake is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..errors import CRMError, NotFound, ValidationFailed
from ..models import Contact, Segment, utcnow
from . import compiler
from .ast import All, Condition, HasTag, InGroup, Node, Not
from .ast import Any as AnyOf
from .dates import Clock
from .errors import SegmentError
from .fields import FieldRegistry
from .json_form import from_json, to_json
from .printer import to_text
from .text import parse_text

FIELDS = ("name", "description", "rules", "text")
NODE_TYPES = (All, AnyOf, Not, Condition, HasTag, InGroup)
NAME_MAX = 200
DESCRIPTION_MAX = 1000


class DuplicateSegment(CRMError):
    """Another segment already has this name (names match case-insensitively)."""

    status_code = 409

    def __init__(self, name: str, existing_id: int) -> None:
        super().__init__(f"Segment #{existing_id} is already called {name}.")
        self.existing_id = existing_id


class InvalidRule(ValidationFailed):
    """The rules or the text of a segment do not parse; ``error`` says what and where."""

    def __init__(self, key: str, error: SegmentError) -> None:
        super().__init__({key: error.message})
        self.key = key
        self.error = error


@dataclass(frozen=True)
class Preview:
    """What the live count shows: how many match, the canonical text and JSON, a few contacts."""

    count: int
    text: str
    rules: dict[str, Any]
    sample: list[Contact]


def read_rule(data: Mapping[str, Any], registry: FieldRegistry | None = None) -> Node:
    """Return the rule in ``data["rules"]`` (JSON) or ``data["text"]``; exactly one is given."""
    has_rules, has_text = data.get("rules") is not None, data.get("text") is not None
    if has_rules == has_text:
        raise ValidationFailed({"rules": "Give the rules as JSON or as text, one of the two."})
    if has_text and not isinstance(data["text"], str):
        raise ValidationFailed({"text": "Must be text."})
    try:
        if has_rules:
            return from_json(data["rules"], registry)
        return parse_text(data["text"], registry)
    except SegmentError as exc:
        raise InvalidRule("rules" if has_rules else "text", exc) from None


def clean_name(raw: Any) -> tuple[str, str]:
    """Return (display, key) for a segment name; keys compare case-insensitively."""
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name:
        raise ValidationFailed({"name": "A segment needs a name."})
    if len(name) > NAME_MAX:
        raise ValidationFailed({"name": f"Segment names are at most {NAME_MAX} characters."})
    return name, name.casefold()


def _description(raw: Any) -> str | None:
    if raw is not None and not isinstance(raw, str):
        raise ValidationFailed({"description": "Must be text."})
    text = (raw or "").strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed({"description": f"At most {DESCRIPTION_MAX} characters."})
    return text or None


def _check_keys(data: Mapping[str, Any]) -> None:
    unknown = {str(key): "Unknown field." for key in data if key not in FIELDS}
    if unknown:
        raise ValidationFailed(unknown)


def _check_free(session: Session, key: str, own_id: int | None) -> None:
    other = session.scalar(select(Segment).where(Segment.name_key == key))
    if other is not None and other.id != own_id:
        raise DuplicateSegment(other.name, other.id)


def snapshot(segment: Segment) -> dict[str, Any]:
    """Return what the audit log keeps of a segment."""
    return {"name": segment.name, "description": segment.description, "text": segment.text}


def get(session: Session, segment_id: int) -> Segment:
    """Return a saved segment or raise NotFound."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"No segment #{segment_id}.")
    return segment


def find_by_name(session: Session, name: str) -> Segment | None:
    """Return the segment with this name (any case), if there is one."""
    return session.scalar(select(Segment).where(Segment.name_key == clean_name(name)[1]))


def all_segments(session: Session) -> list[Segment]:
    """Return every saved segment by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name_key)))


def create(session: Session, data: Mapping[str, Any], *, actor: str,
           registry: FieldRegistry | None = None) -> Segment:
    """Save a segment from a name, a description and its rules as JSON or text."""
    _check_keys(data)
    display, key = clean_name(data.get("name"))
    description = _description(data.get("description"))
    rule = read_rule(data, registry)
    _check_free(session, key, None)
    segment = Segment(name=display, name_key=key, description=description,
                      rules=to_json(rule), text=to_text(rule), created_by=actor)
    session.add(segment)
    session.flush()
    audit.record(session, actor=actor, action="create", entity_type="segment",
                 entity_id=segment.id, changes=audit.diff({}, snapshot(segment)))
    return segment


def update(session: Session, segment_id: int, data: Mapping[str, Any], *, actor: str,
           registry: FieldRegistry | None = None) -> Segment:
    """Change the fields sent (name, description, rules or text); the rest stay."""
    _check_keys(data)
    segment = get(session, segment_id)
    before = snapshot(segment)
    if "name" in data:
        display, key = clean_name(data["name"])
        _check_free(session, key, segment.id)
        segment.name, segment.name_key = display, key
    if "description" in data:
        segment.description = _description(data["description"])
    if "rules" in data or "text" in data:
        rule = read_rule(data, registry)
        segment.rules, segment.text = to_json(rule), to_text(rule)
    changes = audit.diff(before, snapshot(segment))
    if changes:
        segment.updated_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action="update", entity_type="segment",
                     entity_id=segment.id, changes=changes)
    return segment


def delete(session: Session, segment_id: int, *, actor: str) -> str:
    """Delete a saved segment (its contacts are untouched); return its name."""
    segment = get(session, segment_id)
    name = segment.name
    audit.record(session, actor=actor, action="delete", entity_type="segment",
                 entity_id=segment.id, changes=audit.diff(snapshot(segment), {}))
    session.delete(segment)
    session.flush()
    return name


def rule_of(segment: Segment, registry: FieldRegistry | None = None) -> Node:
    """Return a saved segment's rule, checked against today's fields."""
    try:
        return from_json(segment.rules, registry)
    except SegmentError as exc:
        raise InvalidRule("rules", exc) from None


def resolve(session: Session, segment_id_or_rule: int | Node,
            registry: FieldRegistry | None = None) -> Node:
    """Return the rule of a saved segment (by id), or the rule itself when given one."""
    if isinstance(segment_id_or_rule, int) and not isinstance(segment_id_or_rule, bool):
        return rule_of(get(session, segment_id_or_rule), registry)
    if not isinstance(segment_id_or_rule, NODE_TYPES):
        raise TypeError("Give a segment id or a parsed rule.")
    return segment_id_or_rule


def preview(session: Session, data: Mapping[str, Any], *, clock: Clock | None = None,
            sample_size: int = 5, registry: FieldRegistry | None = None) -> Preview:
    """Count a rule given as JSON or text and show a few of its contacts, saving nothing."""
    rule = read_rule(data, registry)
    clock = clock or Clock.current()
    return Preview(count=compiler.count(session, rule, clock=clock, registry=registry),
                   text=to_text(rule), rules=to_json(rule),
                   sample=compiler.sample(session, rule, sample_size, clock=clock,
                                          registry=registry))
