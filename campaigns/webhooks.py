"""Mailchimp's webhook deliveries: read the form, apply it once, and keep a record of it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm import contacts
from crm.errors import CRMError

from . import delivery, inbound, ledger
from .models import WEBHOOK_TYPES, WebhookEvent

_KEY = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")
MAX_FIELDS = 200


class BadDelivery(CRMError):
    """The body is not a Mailchimp webhook delivery."""


def parse_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Turn PHP-style form keys (data[merges][FNAME]) into nested dicts."""
    result: dict[str, Any] = {}
    for count, (key, value) in enumerate(pairs):
        if count >= MAX_FIELDS:
            raise BadDelivery("Too many fields for a Mailchimp delivery.")
        parts = [a or b for a, b in _KEY.findall(key)]
        if not parts or "".join(f"[{p}]" for p in parts[1:]) != key[len(parts[0]):]:
            raise BadDelivery(f"Unreadable field name {key[:60]!r}.")
        node = result
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise BadDelivery(f"Field {key[:60]!r} clashes with another.")
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise BadDelivery(f"Field {key[:60]!r} clashes with another.")
        node[parts[-1]] = value
    return result


def digest(form: dict[str, Any]) -> str:
    """Return a stable fingerprint of a delivery: Mailchimp's retries share it."""
    text = json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _fired_at(text: str) -> datetime | None:
    try:
        # Mailchimp sends "2026-11-29 12:00:00" in GMT.
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def receive(session: Session, form: dict[str, Any], *, audience_id: str) -> tuple[WebhookEvent,
                                                                                 bool]:
    """Record and apply one delivery; return it and whether it was new (False: a repeat)."""
    kind = str(form.get("type", ""))
    data = form.get("data") if isinstance(form.get("data"), dict) else {}
    fingerprint = digest(form)
    seen = session.scalar(select(WebhookEvent).where(WebhookEvent.digest == fingerprint))
    if seen is not None:
        return seen, False
    email = str(data.get("email") or data.get("new_email") or "")[:320]
    event = WebhookEvent(digest=fingerprint, event_type=kind[:30] or "(none)",
                         fired_at=str(form.get("fired_at", ""))[:40], email=email, data=data,
                         outcome="", detail="")
    outcome, detail, contact_id = _apply(session, kind, data, form, audience_id)
    event.outcome, event.detail, event.contact_id = outcome, detail, contact_id
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        # The same delivery arrived twice at once; the other one recorded it.
        seen = session.scalar(select(WebhookEvent).where(WebhookEvent.digest == fingerprint))
        if seen is None:
            raise
        return seen, False
    return event, True


def _apply(session: Session, kind: str, data: dict[str, Any], form: dict[str, Any],
           audience_id: str) -> tuple[str, str, int | None]:
    if kind not in WEBHOOK_TYPES:
        return "ignored", f"Unknown event type {kind[:30]!r}.", None
    list_id = str(data.get("list_id") or "")
    if kind != "campaign" and list_id and list_id != audience_id:
        return "ignored", f"For another audience ({list_id[:40]}).", None
    when = _fired_at(str(form.get("fired_at", "")))
    if kind == "campaign":
        outcome, detail = delivery.from_webhook(session, data, when)
        return outcome, detail, None
    if kind == "upemail":
        return _upemail(session, data, audience_id)
    email = str(data.get("email") or "")
    contact = inbound.find_contact(session, email) if email else None
    if kind == "subscribe" and contact is None:
        return _new_contact(session, data)
    if contact is None:
        return "unknown email", f"No contact has the address {email[:80]!r}.", None
    if kind in ("unsubscribe", "cleaned"):
        status = "unsubscribed" if kind == "unsubscribe" else "cleaned"
        reason = str(data.get("reason") or "")[:60]
        campaign = str(data.get("campaign_id") or "")[:40]
        note = f"Webhook: {kind}" + (f" ({reason})" if reason else "") + (
            f", campaign {campaign}" if campaign else "") + "."
        done = inbound.apply_status(session, contact.id, status, audience_id=audience_id,
                                    note=note, when=when)
        return ("applied" if done.startswith("now") else "no change"), done, contact.id
    if kind == "subscribe":
        done = inbound.apply_status(session, contact.id, "subscribed", audience_id=audience_id,
                                    note="Webhook: subscribe.", when=when, opt_in_event=True)
        return ("applied" if done.startswith("now") else "no change"), done, contact.id
    return _profile(session, contact.id, data)


def _names(data: dict[str, Any]) -> dict[str, str]:
    merges = data.get("merges") if isinstance(data.get("merges"), dict) else {}
    found = {}
    for tag, field in (("FNAME", "first_name"), ("LNAME", "last_name"), ("PHONE", "phone")):
        value = str(merges.get(tag) or "").strip()
        if value:  # a blank in Mailchimp never wipes what we know
            found[field] = value
    return found


def _profile(session: Session, contact_id: int, data: dict[str, Any]) -> tuple[str, str, int]:
    fields = _names(data)
    if not fields:
        return "no change", "No names or phone in the profile.", contact_id
    try:
        contacts.update(session, contact_id, fields, actor=inbound.ACTOR, method="mailchimp")
    except CRMError as exc:
        return "rejected", str(exc)[:300], contact_id
    return "applied", "Updated " + ", ".join(sorted(fields)) + ".", contact_id


def _new_contact(session: Session, data: dict[str, Any]) -> tuple[str, str, int | None]:
    fields = {"email": str(data.get("email") or ""), "email_status": "subscribed",
              "source": "Mailchimp sign-up", **_names(data)}
    try:
        with session.begin_nested():
            contact = contacts.create(session, fields, actor=inbound.ACTOR, method="mailchimp")
    except CRMError as exc:
        return "rejected", str(exc)[:300], None
    return "created", "A new contact signed up through Mailchimp.", contact.id


def _upemail(session: Session, data: dict[str, Any], audience_id: str
             ) -> tuple[str, str, int | None]:
    old, new = str(data.get("old_email") or ""), str(data.get("new_email") or "")
    contact = inbound.find_contact(session, old) if old else None
    if contact is None:
        return "unknown email", f"No contact has the address {old[:80]!r}.", None
    try:
        with session.begin_nested():
            contacts.update(session, contact.id, {"email": new}, actor=inbound.ACTOR,
                            method="mailchimp")
    except CRMError as exc:
        return "rejected", str(exc)[:300], contact.id
    row = ledger.entry(session, audience_id, contact.id)
    if row is not None:
        ledger.note_status(session, audience_id, contact.id, row.status, email=new)
    return "applied", f"Email changed from {old[:80]} to {new[:80]}.", contact.id
