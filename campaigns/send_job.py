"""The send job: snapshot → campaign segment → sync merge values → campaign → content → send.

Each step records what Mailchimp gave back (ids, statuses) and commits before the next one,
so a crash, a timeout or a retry resumes at the step that did not finish. Names carry the
campaign's send key, so a create whose answer was lost is found, not made twice. And
``actions/send`` is called at most once per campaign: once the call is recorded as made,
a retry first asks Mailchimp for the campaign's status and only calls send again when
Mailchimp says the campaign was not sent.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from crm.errors import CRMError
from crm.models import utcnow
from crm.segments.dates import Clock

from . import audience, personalise, sending, sync
from .campaign_models import Campaign, Recipient
from .mailchimp import Gateway
from .mailchimp_errors import MailchimpError
from .models import SyncRun
from .sync import Progress
from .sync_push import BatchOutcome

SENT_STATUSES = ("sending", "sent")
NOT_SENT_REASONS = {
    None: "not taken by Mailchimp (see the sync's skipped reasons)",
    "pending": "has not confirmed their opt-in in Mailchimp",
    "refused": "refused by Mailchimp (see the review queue)",
    **audience.MAILCHIMP_REASONS,
}


class SendStopped(CRMError):
    """The campaign was cancelled (or changed) while the send job ran."""


class SendFailed(CRMError):
    """A step of the send could not finish; a retry resumes at that step."""


@dataclass
class Sender:
    """Everything one run of the send job needs."""

    session: Session
    gateway: Gateway
    campaign: Campaign
    progress: Progress
    settings: personalise.Settings
    rules: audience.Rules
    connections: int = 10
    merge_field_limit: int = 30
    clock: Clock | None = None
    report_seconds: float = sync.REPORT_SECONDS
    # A test's hook between steps (a simulated crash); never set in the product.
    after_step: Callable[[str], None] | None = None
    # The step an earlier run had reached when this one started (None: a first run).
    resumed_at: str | None = field(default=None, init=False)

    def commit(self, step: str | None, message: str) -> None:
        """Record the step reached and make it durable."""
        if step is not None:
            self.campaign.send_step = step
        # The bar counts recipients synced: full once the sync is behind us.
        total = int(self.campaign.audience.get("included", 0))
        synced = self.campaign.send_step in ("campaign", "content", "deliver", "done")
        self.progress.progress(total if synced else 0, total, message)
        if self.after_step is not None:
            self.after_step(step or "")

    def still_sending(self) -> None:
        """Stop if staff cancelled the campaign meanwhile."""
        self.session.refresh(self.campaign)
        if self.campaign.status != "sending":
            raise SendStopped(f"The campaign is {self.campaign.status}; the send stopped.")

    def run(self) -> dict[str, Any]:
        """Run the remaining steps; return the campaign's Mailchimp ids and counts."""
        c = self.campaign
        self.resumed_at = c.send_step
        self.still_sending()
        c.audience_id = c.audience_id or self.gateway.config.audience_id
        if not c.send_key:
            c.send_key = secrets.token_hex(4)
        if c.send_step in (None, "snapshot"):
            self.snapshot()
        if c.send_step == "segment":
            self.segment()
        if c.send_step == "sync":
            self.sync()
        if c.send_step == "campaign":
            self.create_campaign()
        if c.send_step == "content":
            self.content()
        if c.send_step == "deliver":
            self.still_sending()
            if c.send_at is not None:
                self.schedule()
            else:
                self.send_once()
        return {"campaign_id": c.id, "mc_campaign_id": c.mc_campaign_id,
                "mc_segment_id": c.mc_segment_id, "status": c.status,
                "recipients": c.audience.get("included", 0), "send_calls": c.send_calls}

    def snapshot(self) -> None:
        """Freeze the audience again, just before sending (the lists may have changed)."""
        counts = audience.take(self.session, self.campaign, self.settings, self.rules,
                               clock=self.clock)
        if not counts["included"]:
            raise SendFailed("Nobody in the segment can be emailed any more.")
        self.commit("segment", f"Audience frozen: {counts['included']:,} recipients.")

    def segment(self) -> None:
        """Create the campaign's static segment in Mailchimp (or find the one made before)."""
        c = self.campaign
        name = f"{c.name[:60]} [crm {c.id}-{c.send_key}]"
        if c.mc_segment_id is None:
            try:
                c.mc_segment_id = self.gateway.create_static_segment(name).id
            except MailchimpError as exc:
                found = self._lookup(exc, lambda: next(
                    (s for s in self.gateway.static_segments() if s.name == name), None))
                c.mc_segment_id = found.id
        self.commit("sync", "Campaign segment ready in Mailchimp.")

    def _lookup(self, exc: MailchimpError, find: Callable[[], Any]) -> Any:
        # A refusal (4xx) is final; an unknown outcome may have been applied: look first.
        if exc.status is not None and exc.status < 500:
            raise exc
        found = find()
        if found is None:
            raise exc
        return found

    def sync(self) -> None:
        """Sync every recipient with their merge values; each batch joins the segment."""
        c = self.campaign
        record = SyncRun(audience_id=c.audience_id, created_by=f"Campaign #{c.id}",
                         status="planning", scope="campaign", campaign_id=c.id)
        self.session.add(record)
        self.session.flush()
        sync.push(self.session, self.gateway, record, self.progress, clock=self.clock,
                  connections=self.connections, merge_field_limit=self.merge_field_limit,
                  actor=f"Campaign #{c.id}", report_seconds=self.report_seconds,
                  campaign_segment=c.mc_segment_id, on_settled=self._statuses)
        self._settle_audience()
        self.commit("campaign", f"{c.audience['included']:,} recipients synced.")

    def _statuses(self, outcome: BatchOutcome) -> None:
        accepted = outcome.added | outcome.updated
        changes = []
        for item in outcome.items:
            key = item.email.strip().lower()
            status = (item.payload.get("status") if key in accepted
                      else outcome.opted_out.get(key, "refused"))
            changes.append({"cid": item.contact_id, "status": status})
        if changes:
            table = Recipient.__table__
            self.session.execute(
                update(table).where(table.c.campaign_id == self.campaign.id,
                                    table.c.contact_id == bindparam("cid"))
                .values(mc_status=bindparam("status")), changes)

    def _settle_audience(self) -> None:
        c = self.campaign
        table = Recipient.__table__
        for status, reason in NOT_SENT_REASONS.items():
            wanted = table.c.mc_status.is_(None) if status is None \
                else table.c.mc_status == status
            self.session.execute(update(table).where(
                table.c.campaign_id == c.id, table.c.included.is_(True), wanted)
                .values(included=False, reason=reason))
        self.session.execute(update(table).where(
            table.c.campaign_id == c.id, table.c.included.is_(True),
            table.c.mc_status != "subscribed").values(included=False,
                                                      reason="not subscribed in Mailchimp"))
        counts = audience.counts(self.session, c.id)
        c.audience = dict(c.audience, included=counts["included"], excluded=counts["excluded"])
        if not counts["included"]:
            raise SendFailed("Mailchimp took none of the recipients.")

    def create_campaign(self) -> None:
        """Create the Mailchimp campaign for the segment (or find the one made before)."""
        c = self.campaign
        title = f"{c.name[:80]} [crm {c.id}-{c.send_key}]"
        if c.mc_campaign_id is None and self.resumed_at == "campaign":
            # An earlier run died at this step: it may have made the campaign and not lived
            # to record its id. Look it up by its unique title before making another.
            found = self.gateway.find_campaign(title)
            if found is not None:
                c.mc_campaign_id, c.mc_web_id, c.mc_status = found.id, found.web_id, found.status
        if c.mc_campaign_id is None:
            assert c.mc_segment_id is not None
            try:
                info = self.gateway.create_campaign(
                    title=title, subject=c.subject, preview_text=c.preview_text,
                    from_name=c.from_name, reply_to=c.reply_to, segment_id=c.mc_segment_id)
            except MailchimpError as exc:
                info = self._lookup(exc, lambda: self.gateway.find_campaign(title))
            c.mc_campaign_id, c.mc_web_id, c.mc_status = info.id, info.web_id, info.status
        self.commit("content", "Campaign created in Mailchimp.")

    def content(self) -> None:
        """Give Mailchimp the merge-tag content (a PUT: safe to repeat)."""
        c = self.campaign
        assert c.mc_campaign_id is not None
        self.gateway.set_content(c.mc_campaign_id, html=c.html, plain_text=c.text)
        c.content_set_at = utcnow()
        self.commit("deliver", "Content set in Mailchimp.")

    def schedule(self) -> None:
        """Schedule the campaign unless Mailchimp already holds it scheduled."""
        c = self.campaign
        assert c.mc_campaign_id is not None and c.send_at is not None
        info = self.gateway.campaign(c.mc_campaign_id)
        if info is None or info.status != "schedule":
            self.gateway.schedule(c.mc_campaign_id, c.send_at)
        c.mc_status = "schedule"
        sending.scheduled(c)
        self.commit("done", f"Scheduled for {c.send_at:%Y-%m-%d %H:%M} UTC.")

    def send_once(self) -> None:
        """Call actions/send unless an earlier call may have been taken."""
        c = self.campaign
        assert c.mc_campaign_id is not None
        if c.send_called_at is not None and self._already_sent():
            return
        c.send_called_at = utcnow()
        c.send_calls += 1
        self.session.commit()  # the call is on record before it is made
        try:
            self.gateway.send(c.mc_campaign_id)
        except MailchimpError:
            if self._already_sent():
                return
            raise
        self._record_sent("sending")

    def _record_sent(self, mc_status: str) -> None:
        """Record that Mailchimp took the send, unless its campaign webhook said so first."""
        c = self.campaign
        try:
            sending.sent(c)
        except sending.IllegalMove:
            if c.status != "sent":  # read again after the lost compare-and-set
                raise
        if c.mc_status != "sent":  # the webhook may already know delivery finished
            c.mc_status = mc_status
        self.commit("done", "Sent: Mailchimp is delivering it.")

    def _already_sent(self) -> bool:
        """Ask Mailchimp whether the campaign went out; record it when it did."""
        c = self.campaign
        assert c.mc_campaign_id is not None
        info = self.gateway.campaign(c.mc_campaign_id)
        if info is None:
            raise SendFailed("Mailchimp no longer has this campaign; nothing was sent.")
        if info.status in SENT_STATUSES:
            self._record_sent(info.status)
            return True
        c.mc_status = info.status
        return False

