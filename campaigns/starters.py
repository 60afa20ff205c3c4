"""Starter emails staff copy and edit, one per campaign kind, and where they are kept (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm.errors import ValidationFailed

_PACKAGE = Path(__file__).resolve().parent


def template_folder() -> Path:
    """Return the folder holding ``campaigns/…`` templates, in a checkout or an installed wheel."""
    # Mirrors crm.templating: the wheel maps the top-level templates/campaigns into this
    # package, while a source checkout keeps the templates beside the package.
    installed = _PACKAGE / "templates"
    if (installed / "campaigns").is_dir():
        return installed
    return _PACKAGE.parent / "templates"


def email_folder() -> Path:
    """Return the folder holding the email layout and the starter bodies."""
    return template_folder() / "campaigns" / "email"


@dataclass(frozen=True)
class StarterSpec:
    """A starter's defaults and the file its body is kept in."""

    subject: str
    preview_text: str
    file_name: str


@dataclass(frozen=True)
class Starter:
    """What a new campaign of a kind begins with."""

    subject: str
    preview_text: str
    body: str
    fmt: str = "markdown"


STARTERS: dict[str, StarterSpec] = {
    "chip_in": StarterSpec(
        "Can you chip in before Friday's deadline?",
        "Every gift goes straight to recruiting and training local candidates.",
        "chip_in.md"),
    "run_for_office": StarterSpec(
        "Have you thought about running for office?",
        "School boards, city councils and the legislature need people like you.",
        "run_for_office.md"),
    "general": StarterSpec(
        "News from the movement",
        "What we've been up to, and how you can help.",
        "general.md"),
}


def starter(kind: str) -> Starter:
    """Return the starter subject, preview text and markdown body for a campaign kind."""
    spec = STARTERS.get(kind)
    if spec is None:
        raise ValidationFailed({"kind": f"There is no starter email for {kind!r}; choose one of "
                                        f"{', '.join(STARTERS)}."})
    body = (email_folder() / spec.file_name).read_text(encoding="utf-8")
    return Starter(spec.subject, spec.preview_text, body)
