"""The routing table: which Mailchimp endpoint (and sandbox admin endpoint) does what.

A handler takes ``(state, request, **path_arguments)`` and returns ``(status, body)``; a
body of None means no content (204). A sandbox page returns a ready werkzeug ``Response``
instead. Errors are raised as ``SandboxProblem``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from .campaign_routes import CAMPAIGN_ADMIN_ROUTES, CAMPAIGN_API_ROUTES, Route
from .model import STATUSES, field_invalid, parse_iso, subscriber_hash
from .parsing import int_arg, json_body
from .state import SandboxState

__all__ = ["ADMIN_ROUTES", "API_ROUTES", "CAMPAIGN_ROUTES", "Route", "int_arg", "json_body"]


def ping(state: SandboxState, request: Request) -> tuple[int, Any]:
    """Answer Mailchimp's health check."""
    return 200, {"health_status": "Everything's Chimpy!"}


def get_list(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """Return the list object."""
    return 200, state.get_list(list_id)


def batch_subscribe(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """Batch subscribe or update members."""
    body = json_body(request)
    if not isinstance(body, dict) or "members" not in body:
        raise field_invalid("members", "This value should not be blank.")
    return 200, state.batch_subscribe(list_id, body["members"],
                                      bool(body.get("update_existing", False)))


def list_merge_fields(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """List merge fields."""
    return 200, state.list_merge_fields(list_id, int_arg(request, "count", 10, 1000),
                                        int_arg(request, "offset", 0), request.args.get("type"))


def add_merge_field(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """Add a merge field."""
    return 200, state.add_merge_field(list_id, json_body(request))


def list_members(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """List members by status and change time, a page at a time."""
    status = request.args.get("status") or None
    if status is not None and status not in (*STATUSES, "archived"):
        raise field_invalid("status", "Unknown member status.")
    since = request.args.get("since_last_changed") or None
    try:
        since_time = parse_iso(since) if since else None
    except ValueError:
        raise field_invalid("since_last_changed", "Use ISO 8601, like "
                            "2026-11-29T12:00:00+00:00.") from None
    return 200, state.list_members(list_id, int_arg(request, "count", 10, 1000),
                                   int_arg(request, "offset", 0), status, since_time)


def get_member(state: SandboxState, request: Request, list_id: str,
               member_hash: str) -> tuple[int, Any]:
    """Return one member."""
    return 200, state.get_member(list_id, member_hash)


def put_member(state: SandboxState, request: Request, list_id: str,
               member_hash: str) -> tuple[int, Any]:
    """Add or update one member."""
    return 200, state.put_member(list_id, member_hash, json_body(request))


def member_tags(state: SandboxState, request: Request, list_id: str,
                member_hash: str) -> tuple[int, Any]:
    """Add or remove a member's tags."""
    body = json_body(request)
    state.update_member_tags(list_id, member_hash, body.get("tags") if isinstance(body, dict)
                             else None)
    return 204, None


def list_segments(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """List segments (tags), optionally one type."""
    return 200, state.list_segments(list_id, int_arg(request, "count", 10, 1000),
                                    int_arg(request, "offset", 0),
                                    request.args.get("type") or None)


def create_segment(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """Create a static segment."""
    return 200, state.create_segment(list_id, json_body(request))


def get_segment(state: SandboxState, request: Request, list_id: str,
                segment_id: int) -> tuple[int, Any]:
    """Return one segment."""
    return 200, state.get_segment(list_id, segment_id)


def batch_segment(state: SandboxState, request: Request, list_id: str,
                  segment_id: int) -> tuple[int, Any]:
    """Add and remove members of a static segment."""
    return 200, state.batch_segment_members(list_id, segment_id, json_body(request))


def delete_segment(state: SandboxState, request: Request, list_id: str,
                   segment_id: int) -> tuple[int, Any]:
    """Delete a segment."""
    state.delete_segment(list_id, segment_id)
    return 204, None


def list_webhooks(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """List webhooks."""
    return 200, state.list_webhooks(list_id)


def add_webhook(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """Register a webhook."""
    return 200, state.add_webhook(list_id, json_body(request))


def delete_webhook(state: SandboxState, request: Request, list_id: str,
                   webhook_id: str) -> tuple[int, Any]:
    """Remove a webhook."""
    state.delete_webhook(list_id, webhook_id)
    return 204, None


def admin_members(state: SandboxState, request: Request, list_id: str) -> tuple[int, Any]:
    """List every member of an audience, unpaged (sandbox only)."""
    members = state.all_members(list_id)
    return 200, {"members": members, "list_id": list_id, "total_items": len(members)}


def admin_status(state: SandboxState, request: Request, list_id: str,
                 member: str) -> tuple[int, Any]:
    """Change a member's status as the person would, and deliver webhooks (sandbox only)."""
    body = json_body(request)
    body = body if isinstance(body, dict) else {}
    deliveries = state.change_status(list_id, member, str(body.get("status") or ""),
                                     str(body.get("reason") or ""),
                                     str(body.get("source") or "user"))
    member_hash = subscriber_hash(member) if "@" in member else member
    return 200, {"member": state.get_member(list_id, member_hash), "deliveries": deliveries}


def admin_deliveries(state: SandboxState, request: Request) -> tuple[int, Any]:
    """List webhook deliveries and how they went (sandbox only)."""
    return 200, {"deliveries": state.delivery_log}


def admin_calls(state: SandboxState, request: Request) -> tuple[int, Any]:
    """List the API calls received (sandbox only)."""
    return 200, {"calls": [vars(c) for c in state.calls]}


LIST_ROUTES: list[Route] = [
    ("GET", "/ping", ping),
    ("GET", "/lists/<list_id>", get_list),
    ("POST", "/lists/<list_id>", batch_subscribe),
    ("GET", "/lists/<list_id>/merge-fields", list_merge_fields),
    ("POST", "/lists/<list_id>/merge-fields", add_merge_field),
    ("GET", "/lists/<list_id>/members", list_members),
    ("GET", "/lists/<list_id>/members/<member_hash>", get_member),
    ("PUT", "/lists/<list_id>/members/<member_hash>", put_member),
    ("POST", "/lists/<list_id>/members/<member_hash>/tags", member_tags),
    ("GET", "/lists/<list_id>/segments", list_segments),
    ("POST", "/lists/<list_id>/segments", create_segment),
    ("GET", "/lists/<list_id>/segments/<int:segment_id>", get_segment),
    ("POST", "/lists/<list_id>/segments/<int:segment_id>", batch_segment),
    ("DELETE", "/lists/<list_id>/segments/<int:segment_id>", delete_segment),
    ("GET", "/lists/<list_id>/webhooks", list_webhooks),
    ("POST", "/lists/<list_id>/webhooks", add_webhook),
    ("DELETE", "/lists/<list_id>/webhooks/<webhook_id>", delete_webhook),
]

# Campaigns, their content and actions; the handlers are in sandbox/campaign_routes.py.
CAMPAIGN_ROUTES: list[Route] = CAMPAIGN_API_ROUTES

API_ROUTES: list[Route] = LIST_ROUTES + CAMPAIGN_ROUTES

ADMIN_ROUTES: list[Route] = [
    ("GET", "/lists/<list_id>/members", admin_members),
    ("POST", "/lists/<list_id>/members/<member>/status", admin_status),
    ("GET", "/deliveries", admin_deliveries),
    ("GET", "/calls", admin_calls),
    *CAMPAIGN_ADMIN_ROUTES,
]
