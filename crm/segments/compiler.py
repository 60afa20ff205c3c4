"""Compile a rule to one SQLAlchemy Core condition over the contacts table, and run it.

Every leaf compiles to a condition that is true or false, never NULL (missing values are
tested explicitly), so ``not`` is the exact complement and SQL's three-valued logic cannot
drop a contact. Values are always bound parameters. ``crm.segments.planner`` chooses the
form; the functions here run it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..models import Contact
from .ast import Node
from .dates import Clock
from .fields import REGISTRY, FieldRegistry
from .planner import Planner
from .sources import CONTACTS

MAX_LIMIT = 200


@dataclass(frozen=True)
class SegmentPage:
    """One page of a segment's contacts by id, and the id to continue after (None at the end)."""

    items: list[Contact]
    next_after_id: int | None


def compile_rule(node: Node, *, clock: Clock | None = None,
                 registry: FieldRegistry | None = None,
                 session: Session | None = None) -> ColumnElement[bool]:
    """Return the condition on ``crm_contacts`` for live contacts matching a rule.

    Given the session the condition will run on, the planner may look at the data (capped
    counts of side lists, tag and group ids) to choose the fastest form of the same rule.
    """
    planner = Planner(registry or REGISTRY, clock or Clock.current(), session)
    compiled = planner.compile(node)
    return and_(CONTACTS.c.deleted_at.is_(None), CONTACTS.c.merged_into_id.is_(None), compiled)


def select_ids(node: Node, *, clock: Clock | None = None,
               registry: FieldRegistry | None = None,
               session: Session | None = None) -> Select[tuple[int]]:
    """Return the SELECT of the ids of live contacts matching a rule."""
    return select(CONTACTS.c.id).where(
        compile_rule(node, clock=clock, registry=registry, session=session))


def count(session: Session, node: Node, *, clock: Clock | None = None,
          registry: FieldRegistry | None = None) -> int:
    """Return how many live contacts match a rule."""
    stmt = (select(func.count()).select_from(CONTACTS)
            .where(compile_rule(node, clock=clock, registry=registry, session=session)))
    return int(session.scalar(stmt) or 0)


def page(session: Session, node: Node, after_id: int | None = None, limit: int = 50, *,
         clock: Clock | None = None, registry: FieldRegistry | None = None) -> SegmentPage:
    """Return matching contacts by id after ``after_id``, at most ``limit`` of them."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": f"Must be between 1 and {MAX_LIMIT}."})
    if after_id is not None and not 0 <= after_id < 2**31:
        raise ValidationFailed({"after": "Not a contact id."})
    stmt = (select(Contact)
            .where(compile_rule(node, clock=clock, registry=registry, session=session))
            .order_by(Contact.id).limit(limit + 1))
    if after_id is not None:
        stmt = stmt.where(Contact.id > after_id)
    rows = list(session.scalars(stmt))
    items = rows[:limit]
    return SegmentPage(items, items[-1].id if len(rows) > limit else None)


def sample(session: Session, node: Node, limit: int = 5, *, clock: Clock | None = None,
           registry: FieldRegistry | None = None) -> list[Contact]:
    """Return a few matching contacts, newest first, to show beside a live count."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed({"limit": f"Must be between 1 and {MAX_LIMIT}."})
    stmt = (select(Contact)
            .where(compile_rule(node, clock=clock, registry=registry, session=session))
            .order_by(Contact.id.desc()).limit(limit))
    return list(session.scalars(stmt))
