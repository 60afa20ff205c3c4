"""Campaigns: create one for a saved segment, fill it, test, schedule and send it to an inbox.

Nothing leaves the machine: a send renders the campaign for each subscribed member of its
segment (merge tags filled as sandbox/merge_tags.py describes) and keeps one message per
recipient in the state's inbox, which the admin endpoints show. ``send_calls`` counts the
times a campaign went out (so a test can prove it went out once), ``send_requests`` every
send call that reached it, refused ones included. The data and its rules are in
sandbox/campaign_model.py.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

from . import campaign_model as cm
from . import merge_tags
from .members_rules import email_problem
from .model import (
    Audience,
    SandboxProblem,
    field_invalid,
    invalid,
    iso,
    not_found,
    parse_iso,
    subscriber_hash,
)
from .webhooks import WebhooksMixin


class CampaignsMixin(WebhooksMixin):
    """Campaign operations of ``SandboxState``."""

    def create_campaign(self, body: Any) -> dict[str, Any]:
        """Apply ``POST /campaigns``: a regular campaign to an audience or a saved segment."""
        body = body if isinstance(body, dict) else {}
        if body.get("type") != "regular":
            raise field_invalid("type", "The sandbox makes regular campaigns only: use "
                                "\"regular\".")
        recipients = body.get("recipients") if isinstance(body.get("recipients"), dict) else {}
        list_id = str(recipients.get("list_id") or "")
        options = recipients.get("segment_opts") or {}
        segment_id = options.get("saved_segment_id") if isinstance(options, dict) else None
        if segment_id is not None and (isinstance(segment_id, bool)
                                       or not isinstance(segment_id, int)):
            raise field_invalid("recipients.segment_opts.saved_segment_id",
                                "This value should be of type integer.")
        given = body.get("settings") if isinstance(body.get("settings"), dict) else {}
        if any(not isinstance(given.get(k) or "", str) for k in cm.SETTINGS):
            raise field_invalid("settings", "Settings should be text.")
        settings = {k: str(given.get(k) or "") for k in cm.SETTINGS}
        with self._lock:
            audience = self.audiences.get(list_id)
            if audience is None:
                raise field_invalid("recipients.list_id", f"The audience {list_id!r} does not "
                                    "exist.")
            if segment_id is not None and segment_id not in audience.segments:
                raise field_invalid("recipients.segment_opts.saved_segment_id",
                                    f"The audience has no segment {segment_id}.")
            number = self._take_campaign_number()
            campaign_id = subscriber_hash(f"campaign:{number}:{uuid.uuid4()}")[:10]
            campaign = {"id": campaign_id, "web_id": self._take_web_id(), "number": number,
                        "type": "regular", "list_id": list_id, "segment_id": segment_id,
                        "settings": settings, "create_time": self.now_iso(), "status": "save",
                        "emails_sent": 0, "send_time": "", "schedule_time": "", "html": "",
                        "plain_text": "", "send_calls": 0, "send_requests": 0,
                        "test_sends": 0}
            self.campaigns[campaign_id] = campaign
            self._changed()
            return self._render_campaign(campaign)

    def list_campaigns(self, list_id: str | None, count: int = 10, offset: int = 0,
                       sort_field: str | None = None, sort_dir: str = "ASC",
                       status: str | None = None) -> dict[str, Any]:
        """Apply ``GET /campaigns``: a page of campaigns, optionally of one audience."""
        if sort_field not in (None, "create_time", "send_time"):
            raise field_invalid("sort_field", "Use create_time or send_time.")
        if sort_dir not in ("ASC", "DESC"):
            raise field_invalid("sort_dir", "Use ASC or DESC.")
        with self._lock:
            found = [c for c in self.campaigns.values()
                     if (not list_id or c["list_id"] == list_id)
                     and (not status or c["status"] == status)]
            key = sort_field or "create_time"
            # Times have whole seconds: the creation order settles ties.
            found.sort(key=lambda c: (c[key], c["number"]), reverse=sort_dir == "DESC")
            return {"campaigns": [self._render_campaign(c) for c in found[offset:offset + count]],
                    "total_items": len(found), "_links": []}

    def get_campaign(self, campaign_id: str) -> dict[str, Any]:
        """Return one campaign, or raise a 404 problem."""
        with self._lock:
            return self._render_campaign(self._campaign(campaign_id))

    def campaign_record(self, campaign_id: str) -> dict[str, Any]:
        """Return a copy of the sandbox's own record of a campaign, counters included."""
        with self._lock:
            return dict(self._campaign(campaign_id))

    def campaign_records(self) -> list[dict[str, Any]]:
        """Return every campaign as the API shows it, with the sandbox's counters added."""
        with self._lock:
            return [{**self._render_campaign(c), "sandbox": {
                k: c[k] for k in ("send_calls", "send_requests", "test_sends", "schedule_time")}}
                for c in sorted(self.campaigns.values(), key=lambda c: c["number"])]

    def send_calls(self, campaign_id: str) -> int:
        """Return how many times a campaign went out (by a send or its schedule)."""
        with self._lock:
            return int(self._campaign(campaign_id)["send_calls"])

    def set_campaign_content(self, campaign_id: str, body: Any) -> dict[str, Any]:
        """Apply ``PUT /campaigns/{id}/content``: new HTML and plain text."""
        body = body if isinstance(body, dict) else {}
        if any(body.get(k) for k in ("url", "template", "archive", "variate_contents")):
            raise invalid("The sandbox takes campaign content as html and plain_text only.")
        markup, text = body.get("html"), body.get("plain_text")
        if markup is None and text is None:
            raise field_invalid("html", "Send html, plain_text or both.")
        if not all(v is None or isinstance(v, str) for v in (markup, text)):
            raise field_invalid("html", "html and plain_text should be text.")
        with self._lock:
            campaign = self._campaign(campaign_id)
            if campaign["status"] not in cm.EDITABLE:
                raise cm.out_of_turn(campaign, "edit")
            if markup is not None:
                campaign["html"] = markup
                # As Mailchimp does: new HTML without text gets a text version made from it.
                campaign["plain_text"] = merge_tags.plain_from_html(markup)
            if text is not None:
                campaign["plain_text"] = text
            self._changed()
            return cm.render_content(campaign)

    def get_campaign_content(self, campaign_id: str) -> dict[str, Any]:
        """Apply ``GET /campaigns/{id}/content``."""
        with self._lock:
            return cm.render_content(self._campaign(campaign_id))

    def send_test(self, campaign_id: str, body: Any) -> None:
        """Apply ``actions/test``: one test message per address, kept in the inbox."""
        body = body if isinstance(body, dict) else {}
        emails = body.get("test_emails")
        if not isinstance(emails, list) or not emails or not all(
                isinstance(e, str) for e in emails):
            raise field_invalid("test_emails", "This value should be a list of emails.")
        for email in emails:
            if email_problem(email):
                raise field_invalid("test_emails", f"{email} is not a valid email address.")
        if body.get("send_type") not in ("html", "plaintext"):
            raise field_invalid("send_type", "Use html or plaintext.")
        with self._lock:
            campaign = self._campaign(campaign_id)
            cm.check_ready(campaign)
            audience = self._audience(campaign["list_id"])
            address = cm.list_address(audience)
            for email in emails:
                member = audience.members.get(subscriber_hash(email))
                values = None if member is None else member["merge_fields"]
                self.inbox.append(self._message(campaign, audience, address, email, values,
                                                test=True))
            campaign["test_sends"] += 1
            self._changed()

    def schedule_campaign(self, campaign_id: str, body: Any) -> None:
        """Apply ``actions/schedule``: a future UTC time on a quarter hour."""
        raw = body.get("schedule_time") if isinstance(body, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            raise field_invalid("schedule_time", "This value should not be blank.")
        try:
            moment = parse_iso(raw)
        except ValueError:
            raise field_invalid("schedule_time", "Use ISO 8601 in UTC, like "
                                "2026-11-29T12:15:00+00:00.") from None
        if moment.utcoffset() != timedelta(0):
            raise field_invalid("schedule_time", "The schedule time must be in UTC.")
        if moment.minute % 15 or moment.second or moment.microsecond:
            raise field_invalid("schedule_time", "Campaigns can only be scheduled on the "
                                "quarter-hour (:00, :15, :30, :45).")
        with self._lock:
            campaign = self._campaign(campaign_id)
            if moment <= self._now():
                raise field_invalid("schedule_time", "The schedule time must be in the "
                                    "future.")
            if campaign["status"] not in cm.EDITABLE:
                raise cm.out_of_turn(campaign, "schedule")
            cm.check_ready(campaign, self._audience(campaign["list_id"]))
            campaign.update(status="schedule", schedule_time=iso(moment), send_time=iso(moment))
            self._changed()

    def unschedule_campaign(self, campaign_id: str) -> None:
        """Apply ``actions/unschedule``: a scheduled campaign goes back to draft."""
        with self._lock:
            campaign = self._campaign(campaign_id)
            if campaign["status"] != "schedule":
                raise cm.bad_request("This campaign is not scheduled.")
            campaign.update(status="save", schedule_time="", send_time="")
            self._changed()

    def send_campaign(self, campaign_id: str) -> None:
        """Apply ``actions/send``: deliver to the segment's subscribed members now."""
        with self._lock:
            campaign = self._campaign(campaign_id)
            campaign["send_requests"] += 1
            self._changed()
            if campaign["status"] not in cm.SENDABLE:
                raise cm.out_of_turn(campaign, "send")
            hooks = self._send_out(campaign)
        self._tell_later(hooks)

    def run_scheduled(self, everything: bool = False) -> list[dict[str, Any]]:
        """Deliver every scheduled campaign whose time has come (all of them if asked)."""
        outcomes: list[dict[str, Any]] = []
        hooks: list[tuple[str, list[tuple[str, str]]]] = []
        with self._lock:
            now = self._now()
            due = sorted((c for c in self.campaigns.values() if c["status"] == "schedule"
                          and (everything or parse_iso(c["schedule_time"]) <= now)),
                         key=lambda c: (c["schedule_time"], c["number"]))
            for campaign in due:
                try:
                    hooks += self._send_out(campaign)
                except SandboxProblem as problem:
                    outcomes.append({"campaign_id": campaign["id"], "error": problem.detail})
                else:
                    outcomes.append({"campaign_id": campaign["id"],
                                     "emails_sent": campaign["emails_sent"]})
        self._tell_later(hooks)
        return outcomes

    def inbox_messages(self, campaign_id: str | None = None,
                       full: bool = False) -> list[dict[str, Any]]:
        """Return the inbox, newest first, optionally one campaign's, without bodies unless full."""
        with self._lock:
            found = [m for m in reversed(self.inbox)
                     if campaign_id is None or m["campaign_id"] == campaign_id]
        if full:
            return [dict(m) for m in found]
        return [{k: v for k, v in m.items() if k not in ("html", "text")} for m in found]

    def inbox_message(self, message_id: str) -> dict[str, Any]:
        """Return one message with its bodies, or raise a 404 problem."""
        with self._lock:
            for message in self.inbox:
                if message["message_id"] == message_id:
                    return dict(message)
        raise not_found("The sandbox inbox has no message with this id.")

    def unsubscribe_from_campaign(self, list_id: str, member_hash: str,
                                  campaign_id: str) -> list[dict[str, Any]]:
        """Unsubscribe a member by a campaign's link, delivering webhooks; return them."""
        with self._lock:
            self._audience(list_id)
        return self.change_status(list_id, member_hash, "unsubscribed", source="user",
                                  campaign_id=campaign_id)

    # -- with the lock held ---------------------------------------------------------------
    def _campaign(self, campaign_id: str) -> dict[str, Any]:
        campaign = self.campaigns.get(campaign_id)
        if campaign is None:
            raise not_found("The requested resource could not be found.")
        return campaign

    def _render_campaign(self, campaign: dict[str, Any]) -> dict[str, Any]:
        return cm.render(campaign, self.audiences.get(campaign["list_id"]))

    def _message(self, campaign: dict[str, Any], audience: Audience, address: str, email: str,
                 values: dict[str, Any] | None, *, test: bool) -> dict[str, Any]:
        return cm.message(campaign, email=email, values=values, address=address,
                          unsubscribe=cm.unsubscribe_url(self.public_url, audience.id, email,
                                                         campaign["id"]),
                          sent_at=self.now_iso(), test=test)

    def _tell_later(self, hooks: list[tuple[str, list[tuple[str, str]]]]) -> None:
        # Mailchimp tells a campaign's webhooks once it has sent, not within the send call.
        if hooks:
            threading.Thread(target=lambda: [self._deliver(url, "campaign", form)
                                             for url, form in hooks],
                             name="sandbox-campaign-webhooks", daemon=True).start()

    def _send_out(self, campaign: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
        """Deliver a campaign (with the lock held); return the campaign webhooks to call."""
        audience = self._audience(campaign["list_id"])
        cm.check_ready(campaign, audience)
        reached = cm.recipients(campaign, audience)
        address = cm.list_address(audience)
        for member in reached:
            self.inbox.append(self._message(campaign, audience, address,
                                            member["email_address"], member["merge_fields"],
                                            test=False))
        campaign.update(status="sent", emails_sent=len(reached), send_time=self.now_iso(),
                        schedule_time="", send_calls=campaign["send_calls"] + 1)
        self._changed()
        fired_at = parse_iso(self.now_iso()).strftime("%Y-%m-%d %H:%M:%S")
        form = [("type", "campaign"), ("fired_at", fired_at), ("data[id]", campaign["id"]),
                ("data[subject]", campaign["settings"]["subject_line"]),
                ("data[status]", "sent"), ("data[reason]", ""),
                ("data[list_id]", campaign["list_id"])]
        return [(hook["url"], form) for hook in audience.webhooks.values()
                if hook["events"].get("campaign")]
