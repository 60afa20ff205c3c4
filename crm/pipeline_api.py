"""The pipeline's JSON API: board counts, a contact's recruitment record and its history."""

from __future__ import annotations

from typing import Any

from . import access, contacts, pipeline
from .api import api_bp
from .current import db_session as _session
from .pipeline_schemas import (
    HistorySchema,
    PipelineSchema,
    RecruitmentPutSchema,
    RecruitmentSchema,
)

_RECRUITMENT = "/contacts/<int(max=2147483647):contact_id>/recruitment"



@api_bp.route("/pipeline")
@api_bp.response(200, PipelineSchema)
def pipeline_counts() -> dict[str, Any]:
    """How many recruits stand at each stage."""
    counts = pipeline.stage_counts(_session())
    return {"stages": [{"stage": stage, "label": pipeline.STAGE_LABELS[stage], "count": count}
                       for stage, count in counts.items()],
            "total": sum(counts.values())}


@api_bp.route(_RECRUITMENT)
@api_bp.response(200, RecruitmentSchema)
@api_bp.alt_response(404, description="No such contact, or not in the pipeline")
def recruitment_get(contact_id: int) -> Any:
    """Get a contact's stage, office, jurisdiction and owner."""
    return pipeline.get(_session(), contact_id)


@api_bp.route(_RECRUITMENT, methods=["PUT"])
@api_bp.arguments(RecruitmentPutSchema)
@api_bp.response(200, RecruitmentSchema)
@api_bp.alt_response(201, schema=RecruitmentSchema, description="Added to the pipeline")
def recruitment_put(body: dict[str, Any], contact_id: int) -> Any:
    """Put a contact in the pipeline, or change their details and move them to ``stage``."""
    recruit, created = pipeline.save(_session(), contact_id, body, actor=access.actor_label())
    _session().commit()
    return recruit, 201 if created else 200


@api_bp.route(f"{_RECRUITMENT}/history")
@api_bp.response(200, HistorySchema)
def recruitment_history(contact_id: int) -> dict[str, Any]:
    """A contact's stage changes, newest first (kept after they leave the pipeline)."""
    contacts.get(_session(), contact_id)
    return {"items": pipeline.history(_session(), contact_id)}
