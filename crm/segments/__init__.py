"""Segments: rules over contacts, written as text or JSON, compiled to one SQL SELECT.

Text (``parse_text``) or JSON (``from_json``) becomes one AST (``crm.segments.ast``), checked
against the field registry (``crm.segments.fields``). ``compile_rule`` turns it into a
condition on ``crm_contacts``; ``count``, ``page``, ``sample`` and ``select_ids`` run it.
``to_text`` and ``to_json`` print it back. Saved segments live in ``crm.segments.service``.
``crm.segments.planner`` chooses the SQL form of a rule (which side list drives it); given the
``session`` it will run on, ``compile_rule`` and ``select_ids`` let it measure the data first,
as ``count``, ``page`` and ``sample`` always do.

Missing values (the NULL rule):

- A contact with no value for a field (NULL, or a custom field they do not have) does not
  match ``=``, ``in``, ``contains``, ``starts_with``, ``>``, ``>=``, ``<``, ``<=``,
  ``between``, ``before``, ``after`` or ``within``.
- It does match ``!=`` and ``not in``: a contact with no state is not ``in (WI)`` and is
  ``not in (WI)``. ``is empty`` matches a missing value and empty text; ``is not empty``
  matches everything else.
- ``!=``, ``not in`` and ``is empty`` are exactly ``not =``, ``not in`` and ``not is not
  empty``, and ``not X`` is exactly the live contacts that X does not match: SQL's NULLs
  never leak through a ``not``.
- Contacts with no donations have ``donations.total`` 0, ``donations.count`` 0 and
  ``donations.recurring`` false; their ``donations.hpc``, ``donations.first_at`` and
  ``donations.last_at`` are empty. ``donations.total_since(365d)`` is 0 for a contact with
  no gift in the window.
- Contacts outside the recruitment pipeline have no ``recruitment.*`` value.
- ``union.*`` fields match when any of the contact's memberships does; ``!=``, ``not in``
  and ``is empty`` match when none does (so a contact with no membership matches
  ``union.name != SEIU``). Two union conditions may be met by two different memberships.
- Deleted contacts and merged duplicates never match anything.

Text compares ignoring case: names, city and email through their stored search keys, other
text and custom fields by folding ASCII letters only, the same on SQLite and PostgreSQL.
Money is written in dollars (50 or 50.25) and compared with cents. A date is a whole calendar
day in the clock's zone: ``before D`` is earlier than that day, ``after D`` later than it,
``between D1 and D2`` includes both days; ``within 30d`` is on or after the moment 30 days
ago, and ``before 12m`` / ``after 12m`` are earlier / later than the moment 12 months ago.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping

from .ast import All, Any, Condition, HasTag, InGroup, Node, Not, RelativeWindow
from .compiler import SegmentPage, compile_rule, count, page, sample, select_ids
from .dates import Clock
from .errors import SegmentError
from .fields import REGISTRY, Field, FieldRegistry, register_field
from .json_form import from_json, to_json
from .printer import to_text
from .sources import ContactColumn, CustomField, Many, Related, Source, WindowSum
from .text import parse_text


def parse(rule: str | Mapping[str, typing.Any], registry: FieldRegistry | None = None) -> Node:
    """Return the rule in text (a string) or JSON (an object), or raise SegmentError."""
    if isinstance(rule, str):
        return parse_text(rule, registry)
    return from_json(rule, registry)


__all__ = [
    "REGISTRY",
    "All",
    "Any",
    "Clock",
    "Condition",
    "ContactColumn",
    "CustomField",
    "Field",
    "FieldRegistry",
    "HasTag",
    "InGroup",
    "Many",
    "Node",
    "Not",
    "Related",
    "RelativeWindow",
    "SegmentError",
    "SegmentPage",
    "Source",
    "WindowSum",
    "compile_rule",
    "count",
    "from_json",
    "page",
    "parse",
    "parse_text",
    "register_field",
    "sample",
    "select_ids",
    "to_json",
    "to_text",
]
