"""Where the CRM's templates live, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def template_folder() -> str:
    """Return the folder holding ``crm/…`` and ``campaigns/…`` templates."""
    # The wheel maps the top-level templates/ into the package (see pyproject.toml);
    # a source checkout keeps them beside the package.
    installed = _PACKAGE / "templates"
    if (installed / "crm").is_dir():
        return str(installed)
    return str(_PACKAGE.parent / "templates")
