"""The JSON form of a rule (the API's and the stored form) and its reader.

    {"all": [rule, ...]}   {"any": [rule, ...]}   {"not": rule}
    {"field": "donations.total", "op": ">=", "value": 50}
    {"tag": "union-member"}   {"group": "Tax Fairness Working Group"}

Errors carry the path of the part at fault, such as ``all[1].value``.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from .ast import All, Any, Condition, HasTag, InGroup, Node, Not, RelativeWindow
from .errors import Problem, SegmentError, did_you_mean, path_label
from .fields import REGISTRY, FieldRegistry
from .limits import MAX_DEPTH, MAX_NODES
from .values import MISSING, build_condition, make_group, make_tag

SHAPES = "all, any, not, field/op/value, tag or group"
_KEYS = ("all", "any", "not", "field", "op", "value", "tag", "group")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def from_json(obj: object, registry: FieldRegistry | None = None) -> Node:
    """Return the rule a JSON object says, or raise SegmentError with the path at fault."""
    return _Reader(registry or REGISTRY).read(obj, "", 1)


class _Reader:
    def __init__(self, registry: FieldRegistry) -> None:
        self.registry = registry
        self.nodes = 0

    def read(self, obj: object, path: str, level: int) -> Node:
        where = path_label(path)
        self.nodes += 1
        if level > MAX_DEPTH or self.nodes > MAX_NODES:
            raise SegmentError("too_large", f"The rule nests deeper than {MAX_DEPTH} levels or "
                               f"has more than {MAX_NODES} parts at {where}", path)
        if not isinstance(obj, Mapping) or not obj:
            raise SegmentError("syntax", f"Expected a rule object at {where}; use {SHAPES}",
                               path)
        keys = set(obj)
        unknown = sorted(str(key) for key in keys if key not in _KEYS)
        if unknown:
            hint = did_you_mean(unknown[0], _KEYS) or f"; use {SHAPES}"
            raise SegmentError("syntax", f'Unknown key "{unknown[0]}" at {where}{hint}', path)
        if keys in ({"all"}, {"any"}):
            return self._group(obj, path, level)
        if keys == {"not"}:
            return Not(self.read(obj["not"], _join(path, "not"), level + 1))
        if keys in ({"tag"}, {"group"}):
            key = next(iter(keys))
            try:
                return (make_tag if key == "tag" else make_group)(obj[key])
            except Problem as problem:
                raise problem.at(_join(path, key), _join(path, key)) from None
        if keys <= {"field", "op", "value"}:
            return self._condition(obj, path)
        shown = ", ".join(sorted(keys))
        raise SegmentError("syntax", f"A rule is one of {SHAPES}, not {shown}, at {where}", path)

    def _group(self, obj: Mapping[str, object], path: str, level: int) -> Node:
        key = "all" if "all" in obj else "any"
        items, here = obj[key], _join(path, key)
        if not isinstance(items, list) or not items:
            raise SegmentError("syntax", f'"{key}" needs a list of at least one rule at {here}',
                               here)
        children = tuple(self.read(item, f"{here}[{i}]", level + 1)
                         for i, item in enumerate(items))
        return All(children) if key == "all" else Any(children)

    def _condition(self, obj: Mapping[str, object], path: str) -> Condition:
        for key in ("field", "op"):
            if not isinstance(obj.get(key), str):
                here = _join(path, key)
                raise SegmentError("syntax", f'A condition needs "{key}" as text at {here}', here)
        raw = obj.get("value", MISSING)
        try:
            return build_condition(self.registry, typing.cast(str, obj["field"]), obj["op"], raw)
        except Problem as problem:
            part = {"arg": "field"}.get(problem.part, problem.part)
            here = _join(path, part)
            if part == "value" and problem.index is not None and isinstance(raw, list):
                here = f"{here}[{problem.index}]"
            raise problem.at(here, here) from None


def json_value(value: object) -> typing.Any:
    """Return a condition value as JSON: money as a number of dollars, dates as text."""
    if isinstance(value, tuple):
        return [json_value(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, RelativeWindow):
        return str(value)
    return value


def to_json(node: Node) -> dict[str, typing.Any]:
    """Return the JSON form of a rule."""
    if isinstance(node, All):
        return {"all": [to_json(child) for child in node.children]}
    if isinstance(node, Any):
        return {"any": [to_json(child) for child in node.children]}
    if isinstance(node, Not):
        return {"not": to_json(node.child)}
    if isinstance(node, HasTag):
        return {"tag": node.name}
    if isinstance(node, InGroup):
        return {"group": node.name}
    out: dict[str, typing.Any] = {"field": node.field, "op": node.op}
    if node.value is not None:
        out["value"] = json_value(node.value)
    return out
