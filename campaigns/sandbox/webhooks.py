"""Webhooks: registering them (with Mailchimp's validating GET) and delivering status changes."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .model import (
    field_invalid,
    invalid,
    not_found,
    parse_iso,
    subscriber_hash,
)
from .segments import SegmentsMixin

EVENTS = ("subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign")
SOURCES = ("user", "admin", "api")
EVENT_OF_STATUS = {"subscribed": "subscribe", "unsubscribed": "unsubscribe", "cleaned": "cleaned"}
VALIDATE_TIMEOUT = 5.0
# The sandbox talks to the app on the same machine: a configured HTTP proxy must not intercept.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_call(url: str, data: bytes | None, timeout: float) -> int:
    """GET (or POST form data to) a URL and return the HTTP status; raise OSError if none came."""
    headers = {"User-Agent": "MailChimp", "Content-Type": "application/x-www-form-urlencoded"}
    request = urllib.request.Request(url, data=data, headers=headers if data else {},
                                     method="POST" if data is not None else "GET")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Turn nested dicts into PHP-style form pairs: ``data[merges][FNAME]=...``."""
    if isinstance(value, dict):
        pairs: list[tuple[str, str]] = []
        for key, inner in value.items():
            pairs.extend(flatten(f"{prefix}[{key}]", inner))
        return pairs
    return [(prefix, "" if value is None else str(value))]


def _switches(given: Any, names: tuple[str, ...], default: dict[str, bool]) -> dict[str, bool]:
    if given is None:
        return dict(default)
    if not isinstance(given, dict) or not all(isinstance(v, bool) for v in given.values()):
        raise field_invalid("events" if "subscribe" in names else "sources",
                            "This value should be an object of true/false switches.")
    return {name: bool(given.get(name, False)) for name in names}


class WebhooksMixin(SegmentsMixin):
    """Webhook operations of ``SandboxState``."""

    validate_webhooks: bool = True
    webhook_timeout: float = 2.0

    @property
    def delivery_log(self) -> list[dict[str, Any]]:
        """Return a copy of the webhook deliveries made so far, oldest first."""
        with self._lock:
            return list(self.deliveries)

    def list_webhooks(self, list_id: str) -> dict[str, Any]:
        """Return the audience's webhooks."""
        with self._lock:
            audience = self._audience(list_id)
            hooks = [audience.render_webhook(h) for h in audience.webhooks.values()]
            return {"webhooks": hooks, "list_id": list_id, "total_items": len(hooks),
                    "_links": []}

    def add_webhook(self, list_id: str, body: Any) -> dict[str, Any]:
        """Register a webhook after checking, like Mailchimp, that its URL answers a GET."""
        body = body if isinstance(body, dict) else {}
        url = str(body.get("url") or "").strip()
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise field_invalid("url", "A webhook URL starts with http:// or https://.")
        events = _switches(body.get("events"), EVENTS, dict.fromkeys(EVENTS, True))
        sources = _switches(body.get("sources"), SOURCES,
                            {"user": True, "admin": True, "api": False})
        with self._lock:
            self._audience(list_id)
        if self.validate_webhooks:
            # Outside the lock: the URL may be slow, or may be the app calling us back.
            try:
                status = http_call(url, None, VALIDATE_TIMEOUT)
                outcome = f"answered {status}, not 200"
            except OSError as exc:
                status, outcome = None, f"got no answer ({exc.__class__.__name__}: {exc})"
            if status != 200:
                raise invalid("The resource submitted could not be validated. For "
                              "field-specific details, see the 'errors' array.",
                              [{"field": "url", "message": "We couldn't verify the URL is "
                                f"working: a GET to it {outcome}."}])
        with self._lock:
            audience = self._audience(list_id)
            if any(h["url"] == url for h in audience.webhooks.values()):
                raise invalid(f"A webhook with the URL {url} already exists for this list.")
            hook_id = subscriber_hash(f"hook:{list_id}:{url}:{self.now_iso()}")[:10]
            hook = {"id": hook_id, "url": url, "events": events, "sources": sources}
            audience.webhooks[hook_id] = hook
            self._changed()
            return audience.render_webhook(hook)

    def delete_webhook(self, list_id: str, webhook_id: str) -> None:
        """Remove a webhook, or raise a 404 problem."""
        with self._lock:
            audience = self._audience(list_id)
            if audience.webhooks.pop(webhook_id, None) is None:
                raise not_found("The requested resource could not be found.")
            self._changed()

    def change_status(self, list_id: str, member: str, status: str, reason: str = "",
                      source: str = "user", campaign_id: str = "") -> list[dict[str, Any]]:
        """Change a member's status as if they did it in Mailchimp, then deliver webhooks.

        ``member`` is an email address or subscriber hash; returns one record per delivery.
        ``campaign_id`` names the campaign whose unsubscribe link was used, if one was.
        """
        if status not in EVENT_OF_STATUS:
            raise field_invalid("status", "Use subscribed, unsubscribed or cleaned.")
        if source not in SOURCES:
            raise field_invalid("source", "Use user, admin or api.")
        member_id = subscriber_hash(member) if "@" in member else member.lower()
        with self._lock:
            audience = self._audience(list_id)
            current = audience.members.get(member_id)
            if current is None:
                raise not_found("The requested resource could not be found.")
            if current["status"] == status:
                return []
            updated = {**current}
            reason = reason or ("hard" if status == "cleaned" else "manual")
            self._apply_status(audience, updated, status, current["status"], reason)
            updated["last_changed"] = self.now_iso()
            audience.members[member_id] = updated
            audience.version += 1
            self._changed()
            event = EVENT_OF_STATUS[status]
            form = self._webhook_form(audience.render_member(updated), event, reason,
                                      campaign_id)
            targets = [h["url"] for h in audience.webhooks.values()
                       if h["events"].get(event) and h["sources"].get(source)]
        return [self._deliver(url, event, form) for url in targets]

    def fire_status_change(self, email: str, status: str, reason: str = "", source: str = "user",
                           list_id: str | None = None) -> list[dict[str, Any]]:
        """Change a member's status in the (default) audience and deliver its webhooks."""
        if list_id is None:
            with self._lock:
                list_id = next(iter(self.audiences))
        return self.change_status(list_id, email, status, reason, source)

    def _webhook_form(self, member: dict[str, Any], event: str, reason: str,
                      campaign_id: str = "") -> list[tuple[str, str]]:
        fired_at = parse_iso(self.now_iso()).strftime("%Y-%m-%d %H:%M:%S")
        data: dict[str, Any] = {"list_id": member["list_id"], "email": member["email_address"]}
        if event == "cleaned":
            data.update(campaign_id="", reason=reason)
        else:
            merges = {"EMAIL": member["email_address"], **member["merge_fields"]}
            data = {"id": member["unique_email_id"], **data,
                    "email_type": member["email_type"], "ip_opt": member["ip_opt"],
                    "web_id": member["web_id"], "merges": merges}
            if event == "unsubscribe":
                data.update(action="unsub", reason=reason, campaign_id=campaign_id)
            else:
                data["ip_signup"] = member["ip_signup"]
        return [("type", event), ("fired_at", fired_at), *flatten("data", data)]

    def _deliver(self, url: str, event: str, form: list[tuple[str, str]]) -> dict[str, Any]:
        record: dict[str, Any] = {"url": url, "type": event, "form": dict(form),
                                  "time": self.now_iso(), "status_code": None, "error": None}
        try:
            record["status_code"] = http_call(url, urllib.parse.urlencode(form).encode(),
                                              self.webhook_timeout)
        except OSError as exc:
            record["error"] = f"{exc.__class__.__name__}: {exc}"
        with self._lock:
            self.deliveries.append(record)
        return record

