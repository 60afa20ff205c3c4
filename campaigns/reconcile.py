"""Reconciling: pull the status changes whose webhooks never arrived and apply them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from crm.models import utcnow

from . import delivery, inbound
from .mailchimp import Gateway
from .models import MailchimpMark

MARK = "reconciled"
# Mailchimp's last_changed and our clock can disagree a little: look back a few minutes more.
OVERLAP = timedelta(minutes=10)
# Opt-outs first: if a run is cut short, the changes that matter most are already applied.
ORDER = ("unsubscribed", "cleaned", "subscribed")


def last_run(session: Session, audience_id: str) -> datetime | None:
    """Return when reconciling last finished for this audience."""
    mark = session.get(MailchimpMark, f"{MARK}:{audience_id}")
    if mark is None or not mark.value.get("at"):
        return None
    return datetime.fromisoformat(mark.value["at"])


def due(last: datetime | None, now: datetime, every_minutes: int) -> bool:
    """Tell whether a periodic reconcile should run now."""
    if every_minutes <= 0:
        return False
    return last is None or now - last >= timedelta(minutes=every_minutes)


def run(session: Session, gateway: Gateway, *, progress: Any = None,
        now: datetime | None = None) -> dict[str, int]:
    """Apply every status change Mailchimp made since the last run; return counts."""
    audience_id = gateway.config.audience_id
    started = now or utcnow()
    previous = last_run(session, audience_id)
    since = previous - OVERLAP if previous is not None else None
    counts = {"examined": 0, "applied": 0, "unknown": 0, "kept": 0}
    for status in ORDER:
        for member in gateway.members_changed(status=status, since=since):
            counts["examined"] += 1
            contact = inbound.find_contact(session, member.email)
            if contact is None:
                counts["unknown"] += 1
                continue
            outcome = inbound.apply_status(
                session, contact.id, status, audience_id=audience_id,
                note="Reconciled with Mailchimp.", when=member.last_changed)
            if outcome.startswith("now"):
                counts["applied"] += 1
            elif outcome.startswith("kept"):
                counts["kept"] += 1
            if progress is not None and counts["examined"] % 500 == 0:
                progress.progress(counts["examined"], None,
                                  f"Checked {counts['examined']:,} members.")
    # Campaigns too: a scheduled one is sent when Mailchimp has sent it, and each sent one
    # learns how many emails went out.
    counts.update(delivery.check(session, gateway))
    mark = session.get(MailchimpMark, f"{MARK}:{audience_id}")
    if mark is None:
        mark = MailchimpMark(name=f"{MARK}:{audience_id}")
        session.add(mark)
    mark.value = {"at": started.isoformat(), "counts": counts}
    session.flush()
    return counts
