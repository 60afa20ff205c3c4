"""Campaign endpoints of the sandbox: Mailchimp's under /3.0, and the sandbox's own.

The sandbox's own (under /_sandbox, no API key needed):

* ``GET /inbox``: the messages sent, newest first (``?campaign_id=`` filters, ``?full=1``
  adds html and text); ``GET /inbox/<message_id>``: one message with its bodies.
* ``GET /campaigns``: every campaign with the sandbox's counters (send_calls...).
* ``POST /campaigns/run-scheduled``: let time pass, delivering each scheduled campaign
  whose time has come (``?all=true``: every scheduled one).
* ``GET|POST /unsubscribe/<list_id>/<member_hash>/<campaign_id>``: the page a message's
  unsubscribe link opens, and its button, which unsubscribes and fires the webhooks.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from .parsing import int_arg, json_body
from .state import SandboxState

Handler = Callable[..., Any]  # returns (status, body), or a ready Response (an HTML page)
Route = tuple[str, str, Handler]  # (HTTP method, werkzeug rule, handler)
_TRUE = ("1", "true", "yes")


def create(state: SandboxState, request: Request) -> tuple[int, Any]:
    """Create a campaign."""
    return 200, state.create_campaign(json_body(request))


def listing(state: SandboxState, request: Request) -> tuple[int, Any]:
    """List campaigns, optionally of one audience or status, sorted as asked."""
    return 200, state.list_campaigns(request.args.get("list_id") or None,
                                     int_arg(request, "count", 10, 1000),
                                     int_arg(request, "offset", 0),
                                     request.args.get("sort_field") or None,
                                     request.args.get("sort_dir") or "ASC",
                                     request.args.get("status") or None)


def get(state: SandboxState, request: Request, campaign_id: str) -> tuple[int, Any]:
    """Return one campaign."""
    return 200, state.get_campaign(campaign_id)


def put_content(state: SandboxState, request: Request, campaign_id: str) -> tuple[int, Any]:
    """Replace a campaign's content."""
    return 200, state.set_campaign_content(campaign_id, json_body(request))


def get_content(state: SandboxState, request: Request, campaign_id: str) -> tuple[int, Any]:
    """Return a campaign's content."""
    return 200, state.get_campaign_content(campaign_id)


def action(state: SandboxState, request: Request, campaign_id: str,
           name: str) -> tuple[int, Any]:
    """Run one campaign action: test, schedule, unschedule or send."""
    if name == "test":
        state.send_test(campaign_id, json_body(request))
    elif name == "schedule":
        state.schedule_campaign(campaign_id, json_body(request))
    elif name == "unschedule":
        state.unschedule_campaign(campaign_id)
    else:
        state.send_campaign(campaign_id)
    return 204, None


def admin_inbox(state: SandboxState, request: Request) -> tuple[int, Any]:
    """List the messages sent, newest first (sandbox only)."""
    messages = state.inbox_messages(request.args.get("campaign_id") or None,
                                    full=request.args.get("full", "").lower() in _TRUE)
    return 200, {"messages": messages, "total_items": len(messages)}


def admin_message(state: SandboxState, request: Request, message_id: str) -> tuple[int, Any]:
    """Return one message with its HTML and text (sandbox only)."""
    return 200, state.inbox_message(message_id)


def admin_campaigns(state: SandboxState, request: Request) -> tuple[int, Any]:
    """List every campaign with the sandbox's counters (sandbox only)."""
    return 200, {"campaigns": state.campaign_records()}


def admin_run_scheduled(state: SandboxState, request: Request) -> tuple[int, Any]:
    """Deliver the scheduled campaigns that are due, or all with ?all=true (sandbox only)."""
    everything = request.args.get("all", "").lower() in _TRUE
    return 200, {"delivered": state.run_scheduled(everything)}


def _page(title: str, body: str) -> Response:
    text = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}"
            f"</title></head><body><h1>{title}</h1>{body}</body></html>")
    return Response(text, content_type="text/html; charset=utf-8")


def unsubscribe_page(state: SandboxState, request: Request, list_id: str, member_hash: str,
                     campaign_id: str) -> Response:
    """Show the unsubscribe page a message's link opens (sandbox only)."""
    member = state.get_member(list_id, member_hash)
    email = html.escape(member["email_address"])
    return _page("Unsubscribe", f"<p>Stop campaign mail to {email}? (Sandbox Mailchimp)</p>"
                 "<form method=\"post\"><button type=\"submit\">Unsubscribe</button></form>")


def unsubscribe(state: SandboxState, request: Request, list_id: str, member_hash: str,
                campaign_id: str) -> Response:
    """Unsubscribe the member and fire the unsubscribe webhook (sandbox only)."""
    state.unsubscribe_from_campaign(list_id, member_hash, campaign_id)
    email = html.escape(state.get_member(list_id, member_hash)["email_address"])
    return _page("Unsubscribed", f"<p>{email} will get no more campaign mail.</p>")


_CAMPAIGN = "/campaigns/<campaign_id>"

CAMPAIGN_API_ROUTES: list[Route] = [
    ("POST", "/campaigns", create),
    ("GET", "/campaigns", listing),
    ("GET", _CAMPAIGN, get),
    ("PUT", f"{_CAMPAIGN}/content", put_content),
    ("GET", f"{_CAMPAIGN}/content", get_content),
    ("POST", f"{_CAMPAIGN}/actions/<any(test,schedule,unschedule,send):name>", action),
]

CAMPAIGN_ADMIN_ROUTES: list[Route] = [
    ("GET", "/inbox", admin_inbox),
    ("GET", "/inbox/<message_id>", admin_message),
    ("GET", "/campaigns", admin_campaigns),
    ("POST", "/campaigns/run-scheduled", admin_run_scheduled),
    ("GET", "/unsubscribe/<list_id>/<member_hash>/<campaign_id>", unsubscribe_page),
    ("POST", "/unsubscribe/<list_id>/<member_hash>/<campaign_id>", unsubscribe),
]
