"""The CRM's feature modules; each adds its panels, timeline entries, links and job kinds."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from .extension import CRMState

# Each module has ``install(app, state)``; its pages and API routes attach to the shared
# blueprints when the module is imported, before the blueprints are registered.
FEATURES = (
    "crm.job_views",
    "crm.giving_views",
    "crm.pipeline_views",
    "crm.export_views",
    "crm.import_views",
    "crm.merge_views",
    "crm.segment_views",
)


def install(app: Flask, state: CRMState) -> None:
    """Import every feature module and let it wire itself into this app."""
    for name in FEATURES:
        import_module(name).install(app, state)
