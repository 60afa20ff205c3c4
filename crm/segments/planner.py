"""How a rule becomes SQL: which side list drives it, and what is tested against that list.

Conditions on side tables (tags, groups, giving, union memberships, the pipeline) are lists
of contact ids. In a conjunction, the most selective list drives: the other side conditions
are probed for each of its ids on their own indexes (EXISTS and NOT EXISTS), and only the
ids that pass reach the contacts table, where the conditions on the contact row are checked
and any left over are probed too. Neither database finds this by itself: SQLite builds a
temporary index for every list it does not start from and reads the row of every contact the
first list names; PostgreSQL hashes the lists and scans every contact.

Which list drives: on SQLite with a session, each candidate list is counted up to a cap (an
index range, usually) and the shortest wins. Without a session, or when every list passes the
cap, the kind of list decides: tags and groups, then equality on an indexed column (both read
in contact order, so the probes after them walk their indexes in order), then ranges, then
scans, then windowed sums; then the order written. PostgreSQL orders the joins itself and
has statistics; with a session, a driven list it estimates short is read into an array and
its contacts fetched by primary key, and conditions on the same one-row table (the giving
summary) are read together.

Only the form changes, never the meaning: every piece is true or false, never NULL, and the
property test holds each form to the reference evaluator.
"""

from __future__ import annotations

import typing

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_, select, union_all
from sqlalchemy.orm import Session

from .ast import All, Any, Condition, Node, Not, flatten
from .dates import Clock
from .fields import FieldRegistry
from .leaves import Leaves, Part
from .sources import CONTACTS, RANK_SUM
from .sqlfuncs import contact_in, contact_in_array, estimated_rows

# A list this short is known exactly; longer ones are "long" and ranked by kind. Counting
# this many ids from an index takes about a millisecond.
PROBE_CAP = 20_000
# Probes per rule, so that a rule with many alternatives cannot cost many counts.
MAX_PROBES = 8
# PostgreSQL: the largest estimate of a driven list that is read into an array.
ARRAY_MAX = 100_000


class Planner(Leaves):
    """Compile one rule; with a session, measure lists to choose the form."""

    def __init__(self, registry: FieldRegistry, clock: Clock,
                 session: Session | None = None) -> None:
        super().__init__(registry, clock, session)
        self.probes_left = MAX_PROBES if self.dialect == "sqlite" else 0

    def compile(self, node: Node) -> ColumnElement[bool]:
        """Return the rule as one condition on ``crm_contacts``."""
        return self.node(flatten(node), correlated=False, positive=True)

    # The condition on the contact row.

    def node(self, node: Part, *, correlated: bool, positive: bool) -> ColumnElement[bool]:
        """Return a condition on the contact; ``correlated`` once few contacts are left."""
        if isinstance(node, All):
            return self.conjunction(node.children, correlated=correlated, positive=positive)
        if not correlated and self.rowable(node):
            return self.among(self.rows(node, ()), positive=positive)
        if isinstance(node, Any):
            return or_(*(self.node(child, correlated=correlated, positive=positive)
                         for child in node.children))
        if isinstance(node, Not):
            return not_(self.node(node.child, correlated=correlated, positive=not positive))
        found = self.membership(node)
        if found is not None:
            return found.on(CONTACTS.c.id, correlated=correlated)
        return self.opaque(typing.cast(Condition, node))

    def conjunction(self, children: typing.Sequence[Part], *, correlated: bool,
                    positive: bool) -> ColumnElement[bool]:
        """Return "every child", driven by a side list when one can drive."""
        children = self.merged(children)
        side = [child for child in children if self.pushable(child)]
        if correlated or not any(self.rowable(child) for child in side):
            return and_(*(self.node(child, correlated=correlated, positive=positive)
                          for child in children))
        rest = [child for child in children if not self.pushable(child)]
        driven = self.rows(side[0], ()) if len(side) == 1 else self.rows_of_all(side, ())
        return and_(self.among(driven, positive=positive),
                    *(self.node(child, correlated=True, positive=positive) for child in rest))

    def among(self, rows: Select[typing.Any], *, positive: bool) -> ColumnElement[bool]:
        """Return "the contact's id is in ``rows``" in the form that reads ``rows`` once."""
        if not positive:
            return contact_in(CONTACTS.c.id, rows)  # NOT EXISTS on PostgreSQL: an anti-join
        if self.dialect == "postgresql" and self.short(rows):
            return contact_in_array(CONTACTS.c.id, rows)
        return CONTACTS.c.id.in_(rows)

    def short(self, rows: Select[typing.Any]) -> bool:
        """Tell whether PostgreSQL's planner expects few rows from a query."""
        assert self.session is not None
        plan = self.session.execute(estimated_rows(rows)).scalar()
        return bool(plan) and float(plan[0]["Plan"]["Plan Rows"]) <= ARRAY_MAX

    # Side lists.

    def rows(self, node: Part, extra: typing.Sequence[Part]) -> Select[typing.Any]:
        """Return the ids a rowable rule lists, keeping those that pass ``extra`` too."""
        if isinstance(node, All):
            return self.rows_of_all(node.children, extra)
        if isinstance(node, Any):
            listed = union_all(*(self.rows(child, ()) for child in node.children)).subquery()
            return select(listed.c[0]).where(*(self.probe(item, listed.c[0]) for item in extra))
        found = self.membership(node)
        assert found is not None and not found.negated
        if found.grouped and extra:
            # Probed once per contact, after the sums; PostgreSQL turns a NOT EXISTS here
            # into an anti-join, where in HAVING it stays a subplan.
            totals = found.rows.subquery()
            return select(totals.c[0]).where(*(self.probe(item, totals.c[0]) for item in extra))
        return found.rows.where(*(self.probe(item, found.key) for item in extra))

    def rows_of_all(self, children: typing.Sequence[Part],
                    extra: typing.Sequence[Part]) -> Select[typing.Any]:
        """Return the ids every child lists, read from the best child's list."""
        children = self.merged(children)
        driver = self.pick([i for i, child in enumerate(children) if self.rowable(child)],
                           children)
        # Probes of indexed columns first: a scan's probe reads a table row.
        others = sorted(children[:driver] + children[driver + 1:], key=self.cost)
        return self.rows(children[driver], (*others, *extra))

    def probe(self, node: Part, ident: ColumnElement[typing.Any]) -> ColumnElement[bool]:
        """Return a side-only rule tested for the one contact ``ident`` by index probes."""
        if isinstance(node, All):
            return and_(*(self.probe(child, ident) for child in self.merged(node.children)))
        if isinstance(node, Any):
            return or_(*(self.probe(child, ident) for child in node.children))
        if isinstance(node, Not):
            return not_(self.probe(node.child, ident))
        found = self.membership(node)
        assert found is not None
        return found.on(ident, correlated=True)

    def pick(self, candidates: list[int], children: list[Part]) -> int:
        """Return the index of the child whose list should drive."""
        ranked = sorted(candidates, key=lambda i: self.rank(children[i]))
        best, limit = ranked[0], PROBE_CAP
        if len(ranked) == 1 or self.session is None:
            return best
        for i in ranked:
            if self.probes_left <= 0 or not self.countable(children[i]):
                continue
            self.probes_left -= 1
            capped = self.rows(children[i], ()).limit(limit).subquery()
            size = int(self.session.scalar(select(func.count()).select_from(capped)) or 0)
            if size < limit:
                best, limit = i, size
            if size == 0:
                break
        return best

    def rank(self, node: Part) -> int:
        """Return how well a list drives when its size is unknown (lower is better)."""
        if isinstance(node, All):
            return min(self.rank(child) for child in node.children if self.rowable(child))
        if isinstance(node, Any):
            return max(self.rank(child) for child in node.children)
        shape = self.shape(node)
        return shape.rank if shape is not None else RANK_SUM

    def cost(self, node: Part) -> int:
        """Return how dear a side-only rule is to probe for one contact (its worst list)."""
        if isinstance(node, All | Any):
            return max(self.cost(child) for child in node.children)
        if isinstance(node, Not):
            return self.cost(node.child)
        shape = self.shape(node)
        return shape.rank if shape is not None else RANK_SUM

    def countable(self, node: Part) -> bool:
        """Tell whether a capped count of the list is cheap."""
        if isinstance(node, All | Any):
            return all(self.countable(c) for c in node.children if self.rowable(c))
        shape = self.shape(node)
        return shape is not None and shape.probe

    def pushable(self, node: Part) -> bool:
        """Tell whether a rule reads side tables only (it can be probed for any id)."""
        if isinstance(node, All | Any):
            return all(self.pushable(child) for child in node.children)
        if isinstance(node, Not):
            return self.pushable(node.child)
        return self.shape(node) is not None

    def rowable(self, node: Part) -> bool:
        """Tell whether a rule's contacts can be listed from side tables alone."""
        if isinstance(node, Any):
            return all(self.rowable(child) for child in node.children)
        if isinstance(node, All):
            return self.pushable(node) and any(self.rowable(c) for c in node.children)
        if isinstance(node, Not):
            return False
        shape = self.shape(node)
        return shape is not None and not shape.negated

