"""A plain-Python reference evaluator of rules, over contacts loaded from the database.

Values are read through the same field sources as the compiler; what each operator means is
written out here again in Python. The property test holds the SQL and this evaluator to the
same answers on SQLite and PostgreSQL, so it lives beside the compiler and changes with it.
"""

from __future__ import annotations

import typing
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from ..models import Group, Tag, contact_tags, group_members
from .ast import NEGATIVE, All, Any, Condition, HasTag, InGroup, Node, Not, RelativeWindow
from .dates import Clock
from .fields import REGISTRY, Field, FieldRegistry
from .sources import CONTACTS, ContactRecord
from .values import group_key, tag_key


def load_records(session: Session, registry: FieldRegistry | None = None) -> list[ContactRecord]:
    """Load every contact (deleted ones too) with the side rows the registry's fields read."""
    tables: dict[str, Table] = {}
    for field in (registry or REGISTRY).fields():
        tables.update((table.name, table) for table in field.source.tables())
    rows: dict[int, dict[str, list[dict[str, typing.Any]]]] = defaultdict(
        lambda: defaultdict(list))
    for name, table in sorted(tables.items()):
        for row in session.execute(select(table)):
            values = dict(row._mapping)
            rows[values["contact_id"]][name].append(values)
    tags: dict[int, set[str]] = defaultdict(set)
    for contact_id, key in session.execute(
            select(contact_tags.c.contact_id, Tag.name_key)
            .join(Tag, Tag.id == contact_tags.c.tag_id)):
        tags[contact_id].add(key)
    groups: dict[int, set[str]] = defaultdict(set)
    for contact_id, key in session.execute(
            select(group_members.c.contact_id, Group.name_key)
            .join(Group, Group.id == group_members.c.group_id)):
        groups[contact_id].add(key)
    records = []
    for row in session.execute(select(CONTACTS).order_by(CONTACTS.c.id)):
        contact = dict(row._mapping)
        ident = contact["id"]
        records.append(ContactRecord(contact, dict(rows.get(ident, {})),
                                     frozenset(tags.get(ident, ())),
                                     frozenset(groups.get(ident, ()))))
    return records


def matching_ids(records: Iterable[ContactRecord], node: Node, *, clock: Clock,
                 registry: FieldRegistry | None = None) -> set[int]:
    """Return the ids of the live contacts among ``records`` that match a rule."""
    return {record.contact["id"] for record in records
            if record.contact["deleted_at"] is None and record.contact["merged_into_id"] is None
            and evaluate(node, record, clock=clock, registry=registry)}


def evaluate(node: Node, record: ContactRecord, *, clock: Clock,
             registry: FieldRegistry | None = None) -> bool:
    """Tell whether one contact matches a rule."""
    registry = registry or REGISTRY
    if isinstance(node, All):
        return all(evaluate(c, record, clock=clock, registry=registry) for c in node.children)
    if isinstance(node, Any):
        return any(evaluate(c, record, clock=clock, registry=registry) for c in node.children)
    if isinstance(node, Not):
        return not evaluate(node.child, record, clock=clock, registry=registry)
    if isinstance(node, HasTag):
        return tag_key(node.name) in record.tags
    if isinstance(node, InGroup):
        return group_key(node.name) in record.groups
    return _condition(node, record, clock, registry)


def _condition(node: Condition, record: ContactRecord, clock: Clock,
               registry: FieldRegistry) -> bool:
    resolved = registry.resolve(node.field)
    positive = NEGATIVE.get(node.op, node.op)
    values = resolved.field.source.read(record, resolved.param, clock)
    hit = any(_passes(resolved.field, positive, node.value, value, clock) for value in values)
    return not hit if node.op in NEGATIVE else hit


def _plain(field: Field, value: typing.Any) -> typing.Any:
    if field.type == "text":
        return field.key_text(value)
    if field.type == "money":
        return int(value * 100)
    return value


def _passes(field: Field, op: str, rule: typing.Any, value: typing.Any, clock: Clock) -> bool:
    """Apply a positive operator to one stored value; a missing value never passes."""
    if value is None:
        return False
    if op == "is not empty":
        return value != ""
    if field.type == "date":
        return _date_passes(op, rule, value, clock)
    if op == "in":
        return value in {_plain(field, item) for item in rule}
    if op == "between":
        return bool(_plain(field, rule[0]) <= value <= _plain(field, rule[1]))
    wanted = _plain(field, rule)
    checks: dict[str, typing.Callable[[], bool]] = {
        "=": lambda: value == wanted,
        "contains": lambda: wanted in value,
        "starts_with": lambda: value.startswith(wanted),
        ">": lambda: value > wanted,
        ">=": lambda: value >= wanted,
        "<": lambda: value < wanted,
        "<=": lambda: value <= wanted,
    }
    return bool(checks[op]())


def _date_passes(op: str, rule: typing.Any, value: typing.Any, clock: Clock) -> bool:
    if isinstance(rule, RelativeWindow):
        moment = clock.ago(rule)
        return {"before": value < moment, "after": value > moment,
                "within": value >= moment}[op]
    if op == "between":
        return bool(clock.day_start(rule[0]) <= value < clock.day_end(rule[1]))
    start, end = clock.day_start(rule), clock.day_end(rule)
    return {"=": start <= value < end, "<": value < start, "before": value < start,
            "<=": value < end, ">": value >= end, "after": value >= end,
            ">=": value >= start}[op]
