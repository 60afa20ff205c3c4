"""Sections of the contact page that features (donations, pipeline, later campaigns) add."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from .models import Contact


@dataclass(frozen=True)
class ContactPanel:
    """A template included on the contact page, with its own context under ``panel.context``."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    # "side": the left column under Details; "main": the right column above the timeline.
    column: str = "side"
    order: int = 100


PanelSource = Callable[[Session, Contact], ContactPanel | None]


@dataclass(frozen=True)
class NavItem:
    """A link in the page header: label, endpoint and the permission it needs."""

    label: str
    endpoint: str
    permission: str = "view"
    order: int = 100


def build(session: Session, contact: Contact, sources: list[PanelSource]) -> list[ContactPanel]:
    """Return the panels every source offers for this contact, in order."""
    panels = [panel for source in sources if (panel := source(session, contact)) is not None]
    return sorted(panels, key=lambda p: p.order)
