"""The segment API: saved segments, a preview count, and a segment's contacts page by page."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from marshmallow import RAISE

from . import access, listing, segments
from .api import api_bp, read_only
from .api_schemas import ContactPageSchema
from .current import db_session as _session
from .current import segment_clock
from .segment_schemas import (
    RuleProblemSchema,
    SegmentContactsArgsSchema,
    SegmentCreateSchema,
    SegmentListSchema,
    SegmentPatchSchema,
    SegmentPreviewResultSchema,
    SegmentPreviewSchema,
    SegmentSchema,
)
from .segments import service as segment_service

ID = "int(max=2147483647)"
RULE_ERROR = "The rule does not parse: `error` says what and where"


@api_bp.errorhandler(segment_service.InvalidRule)
def _rule_error(exc: segment_service.InvalidRule) -> ResponseReturnValue:
    _session().rollback()
    message = exc.error.message
    response = jsonify({"status": 422, "detail": message, "errors": {exc.key: [message]},
                        "error": exc.error.as_dict()})
    response.status_code = 422
    return response


@api_bp.route("/segments")
@api_bp.response(200, SegmentListSchema)
def segment_list() -> dict[str, Any]:
    """List saved segments by name."""
    return {"items": segment_service.all_segments(_session())}


@api_bp.route("/segments", methods=["POST"])
@api_bp.arguments(SegmentCreateSchema)
@api_bp.response(201, SegmentSchema)
@api_bp.alt_response(409, description="Another segment has this name")
@api_bp.alt_response(422, schema=RuleProblemSchema, description=RULE_ERROR)
def segment_create(body: dict[str, Any]) -> Any:
    """Save a segment from a name, a description and its rule as JSON or text."""
    segment = segment_service.create(_session(), body, actor=access.actor_label())
    _session().commit()
    return segment


@api_bp.route("/segments/preview", methods=["POST"])
@api_bp.arguments(SegmentPreviewSchema)
@api_bp.response(200, SegmentPreviewResultSchema)
@api_bp.alt_response(422, schema=RuleProblemSchema, description=RULE_ERROR)
@read_only
def segment_preview(body: dict[str, Any]) -> dict[str, Any]:
    """Count the contacts a rule matches and print it canonically, saving nothing."""
    rule = segment_service.read_rule(body)
    return {"count": segments.count(_session(), rule, clock=segment_clock()),
            "text": segments.to_text(rule), "rules": segments.to_json(rule)}


@api_bp.route(f"/segments/<{ID}:segment_id>")
@api_bp.response(200, SegmentSchema)
def segment_get(segment_id: int) -> Any:
    """Get one saved segment."""
    return segment_service.get(_session(), segment_id)


@api_bp.route(f"/segments/<{ID}:segment_id>", methods=["PATCH"])
@api_bp.arguments(SegmentPatchSchema)
@api_bp.response(200, SegmentSchema)
@api_bp.alt_response(409, description="Another segment has this name")
@api_bp.alt_response(422, schema=RuleProblemSchema, description=RULE_ERROR)
def segment_update(body: dict[str, Any], segment_id: int) -> Any:
    """Change the fields sent (name, description, and rules or text); the rest stay."""
    segment = segment_service.update(_session(), segment_id, body, actor=access.actor_label())
    _session().commit()
    return segment


@api_bp.route(f"/segments/<{ID}:segment_id>", methods=["DELETE"])
@api_bp.response(204)
def segment_delete(segment_id: int) -> None:
    """Delete a saved segment; its contacts stay as they are."""
    segment_service.delete(_session(), segment_id, actor=access.actor_label())
    _session().commit()


@api_bp.route(f"/segments/<{ID}:segment_id>/contacts")
@api_bp.arguments(SegmentContactsArgsSchema, location="query", unknown=RAISE)
@api_bp.response(200, ContactPageSchema)
def segment_contacts(args: dict[str, Any], segment_id: int) -> dict[str, Any]:
    """List a segment's contacts by name, as the contact list does; ``next_cursor`` pages on."""
    flt = listing.ContactFilter(segment=str(segment_id))
    page = listing.page(_session(), flt, cursor=args.get("cursor"), limit=args["limit"],
                        clock=segment_clock())
    return {"items": page.items, "next_cursor": page.next_cursor}
