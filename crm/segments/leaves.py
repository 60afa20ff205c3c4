"""Each condition of a rule as the planner sees it: a side list, or a test of the contact row.

Tags, groups and conditions on side tables become a ``Membership`` (the ids of the contacts
that have a matching row); conditions on the contact row stay as their source writes them.
Conditions on the same one-row side table may be read as one list (``OneRow``).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, not_, select
from sqlalchemy.orm import Session

from ..models import Group, Tag, contact_tags, group_members
from .ast import NEGATIVE, Condition, HasTag, InGroup, Node
from .dates import Clock
from .errors import Problem
from .fields import FieldRegistry
from .operators import OperatorTest
from .sources import RANK_LIST, Membership, Related, side_alias
from .values import group_key, tag_key


@dataclass(frozen=True, eq=False)
class OneRow:
    """Conditions on the same one row of a side table (the giving summary, say), read once."""

    conditions: tuple[Condition, ...]


Part = Node | OneRow


class Shape(typing.NamedTuple):
    """What planning needs to know of a side list: its sign, rank and whether to count it."""

    negated: bool
    rank: int
    probe: bool


class Leaves:
    """The leaves of one rule, with what a session can tell about them."""

    def __init__(self, registry: FieldRegistry, clock: Clock,
                 session: Session | None = None) -> None:
        self.registry = registry
        self.clock = clock
        self.session = session
        self.dialect = session.get_bind().dialect.name if session is not None else ""
        self._ids: dict[tuple[str, str], int | None] = {}
        self._shapes: dict[int, tuple[Part, Shape | None]] = {}
        self._merged: dict[int, tuple[typing.Sequence[Part], list[Part]]] = {}

    def shape(self, node: Part) -> Shape | None:
        """Return what planning needs to know of a leaf, or None if it reads the contact row."""
        known = self._shapes.get(id(node))
        if known is None or known[0] is not node:
            found = self.membership(node)
            shape = None if found is None else Shape(found.negated, found.rank, found.probe)
            known = self._shapes[id(node)] = (node, shape)
        return known[1]

    def merged(self, children: typing.Sequence[Part]) -> list[Part]:
        """Return the children with conditions on the same one-row table read as one.

        Only for PostgreSQL, which then reads that table once, by its most selective index.
        SQLite has no statistics to pick that index from two ranges on one table; given them
        as two lists, its capped counts pick the shorter and the other is a primary-key probe.
        """
        if self.dialect != "postgresql":
            return list(children)
        known = self._merged.get(id(children))
        if known is not None and known[0] is children:
            return known[1]
        out: list[Part] = []
        slots: dict[typing.Any, int] = {}
        for child in children:
            key = self.row_key(child)
            if key is None:
                out.append(child)
            elif key not in slots:
                slots[key] = len(out)
                out.append(child)
            else:
                first = out[slots[key]]
                earlier = first.conditions if isinstance(first, OneRow) else (first,)
                out[slots[key]] = OneRow((*earlier, typing.cast(Condition, child)))
        self._merged[id(children)] = (children, out)
        return out

    def row_key(self, node: Part) -> typing.Any:
        """Return the row a positive one-row side condition reads, or None for any other."""
        if not isinstance(node, Condition) or node.op in NEGATIVE:
            return None
        resolved, test = self.test(node)
        source = resolved.field.source
        if not isinstance(source, Related) or test.matches_default(source.default):
            return None
        return source.row_key()

    def membership(self, node: Part) -> Membership | None:
        """Return a leaf as a side list, or None when it reads the contact row."""
        if isinstance(node, OneRow):
            parts = []
            for condition in node.conditions:
                resolved, test = self.test(condition)
                parts.append((typing.cast(Related, resolved.field.source), test))
            return Related.all_of(parts)
        if isinstance(node, HasTag):
            links = side_alias(contact_tags, "tag_id")
            return Membership(select(links.c.contact_id).where(
                self._named(links.c.tag_id, Tag, tag_key(node.name))),
                links.c.contact_id, rank=RANK_LIST)
        if isinstance(node, InGroup):
            members = side_alias(group_members, "group_id")
            return Membership(select(members.c.contact_id).where(
                self._named(members.c.group_id, Group, group_key(node.name))),
                members.c.contact_id, rank=RANK_LIST)
        if not isinstance(node, Condition):
            return None
        resolved, test = self.test(node)
        found = resolved.field.source.membership(test, resolved.param, self.clock)
        return found.negate() if found is not None and node.op in NEGATIVE else found

    def _named(self, column: ColumnElement[int], model: type[Tag] | type[Group],
               key: str) -> ColumnElement[bool]:
        """Return "``column`` is the id of the tag or group with this key".

        With a session the id is looked up once, so PostgreSQL's statistics see the value;
        without one it is a subquery the statement runs once.
        """
        lookup = select(model.id).where(model.name_key == key)
        if self.session is None or self.dialect != "postgresql":
            return column == lookup.scalar_subquery()
        if (model.__tablename__, key) not in self._ids:
            self._ids[model.__tablename__, key] = self.session.scalar(lookup)
        found = self._ids[model.__tablename__, key]
        return column == found if found is not None else false()

    def test(self, node: Condition) -> tuple[typing.Any, OperatorTest]:
        """Return the resolved field of a condition and its positive test."""
        try:
            resolved = self.registry.resolve(node.field)
        except Problem as problem:
            raise problem.at("field", "field") from None
        positive = NEGATIVE.get(node.op, node.op)
        return resolved, OperatorTest(resolved.field, positive, node.value, self.clock)

    def opaque(self, node: Condition) -> ColumnElement[bool]:
        """Return a condition on the contact row, as its source writes it."""
        resolved, test = self.test(node)
        condition = resolved.field.source.condition(test, resolved.param, self.clock)
        return not_(condition) if node.op in NEGATIVE else condition
