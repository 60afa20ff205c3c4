"""The field registry: every field a rule may name, its type, operators and where it lives.

Adding a field is one entry. Another package (campaigns, for engagement fields) calls
``register_field`` once at import time with a source built from the classes in
``crm.segments.sources``, and the text and JSON forms, the compiler and the reference
evaluator all know the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..models import (
    EMAIL_STATUSES,
    MEMBERSHIP_STATUSES,
    OFFICES,
    STAGES,
    Donation,
    DonationSummary,
    Recruit,
    UnionMembership,
)
from ..validation import US_STATES, search_key
from .ast import RelativeWindow
from .dates import parse_window
from .errors import Problem, did_you_mean
from .sources import ContactColumn, CustomField, Many, Related, Source, WindowSum
from .sqlfuncs import ascii_fold

_ORDERED = ("=", "!=", "in", "not in", ">", ">=", "<", "<=", "between")
_EMPTY = ("is empty", "is not empty")
OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "text": ("=", "!=", "in", "not in", "contains", "starts_with", *_EMPTY),
    "enum": ("=", "!=", "in", "not in", *_EMPTY),
    "number": (*_ORDERED, *_EMPTY),
    "money": (*_ORDERED, *_EMPTY),
    "date": ("=", "!=", ">", ">=", "<", "<=", "between", "before", "after", "within",
             *_EMPTY),
    "boolean": ("=", "!=", *_EMPTY),
}
PARAMS = ("", "key", "window")
_NAME = re.compile(r"[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*")
_CALL = re.compile(r"([A-Za-z_][\w.]*)\s*\((.*)\)", re.DOTALL)
KEY_MAX = 64


@dataclass(frozen=True)
class Field:
    """One field: its name, type, the operators it takes and the source of its value.

    ``param`` is "" for a plain field, "key" for a family such as ``custom.<key>`` and
    "window" for one written ``name(365d)``. ``text_key`` turns typed text into the form the
    source compares (ASCII-folded by default; key columns use their own normaliser).
    """

    name: str
    type: str
    source: Source
    allowed: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    param: str = ""
    text_key: Callable[[str], str] | None = None
    label: str = ""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"Field names are lower-case dotted words, not {self.name!r}.")
        if self.type not in OPERATORS_BY_TYPE:
            raise ValueError(f"Unknown field type {self.type!r}.")
        if self.param not in PARAMS:
            raise ValueError(f"Unknown field parameter {self.param!r}.")
        if (self.type == "enum") != bool(self.allowed):
            raise ValueError("Enum fields, and only they, list their allowed values.")
        ops = tuple(self.operators) or OPERATORS_BY_TYPE[self.type]
        unknown = set(ops) - set(OPERATORS_BY_TYPE[self.type])
        if unknown:
            raise ValueError(f"{self.type} fields cannot take {sorted(unknown)}.")
        object.__setattr__(self, "operators", ops)
        object.__setattr__(self, "allowed", tuple(self.allowed))

    def key_text(self, value: str) -> str:
        """Return typed text in the form the source compares."""
        return self.text_key(value) if self.text_key is not None else ascii_fold(value)

    def describe(self) -> dict[str, object]:
        """Return what a rule builder needs to offer this field."""
        shown = {"key": f"{self.name}.<key>", "window": f"{self.name}(<window>)"}
        return {"name": shown.get(self.param, self.name), "type": self.type,
                "operators": list(self.operators), "allowed": list(self.allowed),
                "label": self.label}


@dataclass(frozen=True)
class Resolved:
    """A field name as written, resolved: the field, its key or window, the canonical name."""

    field: Field
    param: str | RelativeWindow | None
    name: str


class FieldRegistry:
    """Fields by name; ``resolve`` reads a name as written in a rule."""

    def __init__(self, fields: Iterable[Field] = ()) -> None:
        self._fields: dict[str, Field] = {}
        for item in fields:
            self.register(item)

    def register(self, field: Field, *, replace: bool = False) -> Field:
        """Add a field; a second, different field of the same name needs ``replace``."""
        existing = self._fields.get(field.name)
        if existing is not None and existing is not field and not replace:
            raise ValueError(f"A segment field called {field.name!r} is already registered.")
        self._fields[field.name] = field
        return field

    def get(self, name: str) -> Field | None:
        """Return the field registered under this exact name."""
        return self._fields.get(name)

    def fields(self) -> list[Field]:
        """Return every field by name."""
        return [self._fields[name] for name in sorted(self._fields)]

    def copy(self) -> FieldRegistry:
        """Return an independent registry holding the same fields."""
        return FieldRegistry(self._fields.values())

    def _suggestions(self, written: str) -> list[str]:
        rest = written.partition(".")[2]
        names = []
        for field in self._fields.values():
            if field.param == "key":
                names.append(f"{field.name}.{rest}" if rest else field.name)
            else:
                names.append(field.name)
        return [*names, "tag", "group"]

    def resolve(self, written: str) -> Resolved:
        """Return the field a rule names, or raise Problem (unknown field, bad key or window)."""
        name = written.strip()
        plain = self._fields.get(name.lower())
        if plain is not None and plain.param == "":
            return Resolved(plain, None, plain.name)
        if plain is not None:
            example = f"{plain.name}(365d)" if plain.param == "window" else f"{plain.name}.name"
            raise Problem("bad_value", f"{plain.name} needs a {plain.param}",
                          f"; write it like {example}", part="field")
        call = _CALL.fullmatch(name)
        if call is not None:
            field = self._fields.get(call.group(1).lower())
            if field is not None and field.param == "window":
                try:
                    window = parse_window(call.group(2))
                except ValueError as exc:
                    raise Problem("bad_value", f'"{call.group(2).strip()}" is not a window for '
                                  f"{field.name}", f"; {exc}", part="arg") from None
                return Resolved(field, window, f"{field.name}({window})")
        base, dot, key = name.partition(".")
        family = self._fields.get(base.lower())
        if dot and family is not None and family.param == "key":
            return Resolved(family, _check_key(key), f"{family.name}.{key.strip()}")
        hint = did_you_mean(name.partition("(")[0], self._suggestions(name.lower()))
        raise Problem("unknown_field", f'Unknown field "{name}"', hint, part="field")


def _check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > KEY_MAX:
        raise Problem("bad_value", "A custom field name is 1 to 64 characters", part="field")
    if any(ch in key for ch in '"\\') or any(ord(ch) < 32 for ch in key):
        raise Problem("bad_value", f'The custom field name "{key}" has a quote, backslash or '
                      "control character", part="field")
    return key


def _email_key(value: str) -> str:
    return value.strip().lower()


def _contact_text(name: str, label: str) -> Field:
    return Field(name, "text", ContactColumn(name, fold=True), label=label)


_SUMMARY = DonationSummary.__table__.c
_GIFTS = Donation.__table__.c
_MEMBERS = UnionMembership.__table__.c
_RECRUITS = Recruit.__table__.c

BUILTIN_FIELDS = (
    Field("email", "text", ContactColumn("email_normalized"), text_key=_email_key,
          label="Email address"),
    Field("first_name", "text", ContactColumn("first_name_key"), text_key=search_key,
          label="First name"),
    Field("last_name", "text", ContactColumn("last_name_key"), text_key=search_key,
          label="Last name"),
    Field("city", "text", ContactColumn("city_key"), text_key=search_key, label="City"),
    Field("state", "enum", ContactColumn("state"), allowed=tuple(sorted(US_STATES)),
          label="State (two-letter code)"),
    _contact_text("zip", "ZIP code"),
    _contact_text("county", "County"),
    _contact_text("employer", "Employer"),
    _contact_text("occupation", "Occupation"),
    _contact_text("source", "Where the contact came from"),
    Field("email_status", "enum", ContactColumn("email_status"), allowed=EMAIL_STATUSES,
          label="Email status"),
    Field("created_at", "date", ContactColumn("created_at"), label="Added on"),
    Field("custom", "text", CustomField(), param="key", label="A custom field"),
    Field("donations.total", "money", Related(_SUMMARY.total_cents, default=0),
          label="Total given, in dollars (0 for non-donors)"),
    Field("donations.count", "number", Related(_SUMMARY.gift_count, default=0),
          label="Number of gifts (0 for non-donors)"),
    Field("donations.hpc", "money", Related(_SUMMARY.hpc_cents),
          label="Highest previous contribution, in dollars"),
    Field("donations.first_at", "date", Related(_SUMMARY.first_at), label="First gift"),
    Field("donations.last_at", "date", Related(_SUMMARY.last_at), label="Latest gift"),
    Field("donations.recurring", "boolean", Related(_SUMMARY.recurring, default=False),
          label="Has ever given a recurring gift"),
    Field("donations.total_since", "money", WindowSum(_GIFTS.amount_cents, _GIFTS.received_at),
          param="window", label="Total given within a window, in dollars"),
    Field("union.name", "text", Many(_MEMBERS.union_name, fold=True), label="Union"),
    Field("union.local", "text", Many(_MEMBERS.local, fold=True), label="Union local"),
    Field("union.status", "enum", Many(_MEMBERS.status), allowed=MEMBERSHIP_STATUSES,
          label="Membership status"),
    Field("union.worksite", "text", Many(_MEMBERS.worksite, fold=True), label="Worksite"),
    Field("recruitment.stage", "enum", Related(_RECRUITS.stage), allowed=STAGES,
          label="Pipeline stage"),
    Field("recruitment.office", "enum", Related(_RECRUITS.target_office), allowed=OFFICES,
          label="Target office"),
    Field("recruitment.jurisdiction", "text", Related(_RECRUITS.jurisdiction, fold=True),
          label="Jurisdiction"),
)

REGISTRY = FieldRegistry(BUILTIN_FIELDS)


def register_field(name: str, type: str, source: Source, *, allowed: Iterable[str] = (),
                   operators: Iterable[str] = (), param: str = "",
                   text_key: Callable[[str], str] | None = None, label: str = "",
                   replace: bool = False) -> Field:
    """Add a field to the registry every rule is read against; return it."""
    field = Field(name, type, source, allowed=tuple(allowed), operators=tuple(operators),
                  param=param, text_key=text_key, label=label)
    return REGISTRY.register(field, replace=replace)
