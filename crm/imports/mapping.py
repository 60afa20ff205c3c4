"""Column mappings: suggest one for a header, check it, save it for files like this."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..models import ImportMapping
from .presets import FIELDS, IGNORE, PRESETS, Preset, detect, suggest


def signature(header: list[str]) -> str:
    """Return a fingerprint of a header: files with the same columns share it."""
    text = "\x1f".join(" ".join(name.split()).casefold() for name in header)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Suggestion:
    """The preset and mapping offered for a header, and whether staff saved it."""

    preset: Preset
    mapping: dict[str, str]
    saved: bool


def suggestion(session: Session, header: list[str], preset_name: str | None = None) -> Suggestion:
    """Return the saved mapping for this header, else the preset's suggestion."""
    stored = None if preset_name else saved(session, header)
    if stored is not None:
        preset = PRESETS.get(str(stored.mapping.get("preset")), detect(header))
        columns = dict(stored.mapping.get("columns") or {})
        return Suggestion(preset, {name: columns.get(name, IGNORE) for name in header}, True)
    preset = PRESETS[preset_name] if preset_name else detect(header)
    return Suggestion(preset, suggest(header, preset), False)


def saved(session: Session, header: list[str]) -> ImportMapping | None:
    """Return the mapping staff saved for files with this header, if any."""
    stmt = select(ImportMapping).where(ImportMapping.header_signature == signature(header))
    return session.scalar(stmt)


def save(session: Session, header: list[str], mapping: dict[str, str], *, preset: str,
         name: str, actor: str) -> ImportMapping:
    """Save (or replace) the mapping for files with this header."""
    row = saved(session, header)
    if row is None:
        row = ImportMapping(header_signature=signature(header), created_by=actor)
        session.add(row)
    row.name = name[:200] or "Saved mapping"
    row.mapping = {"preset": preset, "columns": dict(mapping)}
    session.flush()
    return row


def check(header: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """Return the mapping limited to this header; raise ValidationFailed if it cannot work."""
    out: dict[str, str] = {}
    used: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in header:
        target = mapping.get(name, IGNORE) or IGNORE
        if target != IGNORE and target not in FIELDS:
            errors[name] = f"Unknown field {target!r}."
            continue
        if target not in (IGNORE, "custom"):
            if target in used:
                errors[name] = f"{FIELDS[target]} is already taken by column {used[target]!r}."
                continue
            used[target] = name
        out[name] = target
    if "email" not in used and "member_id" not in used:
        errors["mapping"] = "Map a column to Email (or, for a roster, to Member id)."
    if errors:
        raise ValidationFailed(errors)
    return out


def suggest_for(header: list[str], preset: Preset) -> dict[str, str]:
    """Return the preset's suggested mapping for a header."""
    return suggest(header, preset)
