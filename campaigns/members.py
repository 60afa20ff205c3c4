"""What we send Mailchimp for a contact, and the consent rules that decide its status (pure)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

OPTED_OUT = ("unsubscribed", "cleaned")

# The merge fields a member carries, and those the campaigns fill per recipient at send time.
# (tag, name, Mailchimp type); tags are at most 10 characters.
MEMBER_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("FNAME", "First Name", "text"),
    ("LNAME", "Last Name", "text"),
    ("PHONE", "Phone Number", "phone"),
    ("ADDRESS", "Address", "address"),
)
CAMPAIGN_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("ASK1", "Ask amount 1", "text"),
    ("ASK2", "Ask amount 2", "text"),
    ("ASK3", "Ask amount 3", "text"),
    ("DONATEURL", "Donate link", "url"),
    ("DONATE1", "Donate link, ask 1", "url"),
    ("DONATE2", "Donate link, ask 2", "url"),
    ("DONATE3", "Donate link, ask 3", "url"),
    ("YESURL", "I'm interested link", "url"),
    ("NOTNOWURL", "Not now link", "url"),
    ("NOMURL", "Nominate someone link", "url"),
)
NEEDED_FIELDS = MEMBER_FIELDS + CAMPAIGN_FIELDS


@dataclass(frozen=True)
class ContactRow:
    """The contact columns a member payload is built from."""

    id: int
    email: str
    email_status: str
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None


def outgoing_status(here: str, known: str | None) -> tuple[str | None, str]:
    """Return the status to send for a contact (or None) and, when None, the reason.

    ``here`` is the contact's email status in the CRM; ``known`` is what Mailchimp holds as
    far as the ledger knows (None: we never pushed them). "subscribed" is only ever sent for
    a contact who is subscribed here, and an existing member's status is kept unless the
    contact opted out here (the batch call has no ``status_if_new``; this is its rule).
    """
    if here == "subscribed":
        if known in OPTED_OUT:
            return None, f"{known} in Mailchimp"
        return ("pending" if known == "pending" else "subscribed"), ""
    if here == "pending":
        # Pending here is an opt-in not yet confirmed: Mailchimp sends the confirmation,
        # whatever it held before (even a subscribed member waits for it again).
        if known == "cleaned":
            return None, "cleaned in Mailchimp"
        return "pending", ""
    if here == "unsubscribed":
        if known is None:
            return None, "unsubscribed"
        return (None, "cleaned in Mailchimp") if known == "cleaned" else ("unsubscribed", "")
    # Cleaned or transactional here: never marketed to. A member Mailchimp still mails is
    # unsubscribed there; otherwise we leave Mailchimp alone.
    if known in ("subscribed", "pending", "transactional"):
        return "unsubscribed", ""
    return None, here


def merge_values(row: ContactRow) -> dict[str, Any]:
    """Return the member merge fields with a value; blanks are left out, never sent."""
    # Sending "" would wipe what Mailchimp holds (a field edited there); we only add or change.
    values: dict[str, Any] = {}
    if row.first_name:
        values["FNAME"] = row.first_name
    if row.last_name:
        values["LNAME"] = row.last_name
    if row.phone:
        values["PHONE"] = row.phone
    if row.street and row.city and row.state and row.zip:
        values["ADDRESS"] = {"addr1": row.street, "city": row.city, "state": row.state,
                             "zip": row.zip, "country": "US"}
    return values


def payload(row: ContactRow, status: str) -> dict[str, Any]:
    """Return the batch-member object for a contact with the status to send."""
    return {"email_address": row.email, "status": status, "merge_fields": merge_values(row)}


_ADDRESS = ("addr1", "city", "state", "zip", "country")
_SEP = "\x1f"  # the unit separator: never in a name, an address or an email


def flatten(body: dict[str, Any]) -> str:
    """Return a payload as one line of its values in a fixed order (hashed and stored).

    Cheaper than JSON by far, which matters: a sync hashes every contact in scope.
    """
    fields = body.get("merge_fields") or {}
    address = fields.get("ADDRESS")
    parts = [str(body.get("email_address", "")), str(body.get("status", ""))]
    parts += [str(fields.get(tag, "")) for tag in ("FNAME", "LNAME", "PHONE")]
    parts += ([str(address.get(k, "")) for k in _ADDRESS] if isinstance(address, dict)
              else [""] * len(_ADDRESS))
    return _SEP.join(parts)


def flatten_row(row: ContactRow, status: str) -> str:
    """Return ``flatten(payload(row, status))`` without building the payload (a re-sync
    flattens every contact and builds payloads only for those that changed)."""
    address = ([row.street, row.city, row.state, row.zip, "US"]
               if row.street and row.city and row.state and row.zip else [""] * len(_ADDRESS))
    return _SEP.join([row.email, status, row.first_name or "", row.last_name or "",
                      row.phone or "", *address])


def unflatten(text: str) -> dict[str, Any]:
    """Return the payload a ``flatten`` line was made from (blank fields left out)."""
    parts = (text or "").split(_SEP)
    if len(parts) != 5 + len(_ADDRESS):
        return {}
    fields: dict[str, Any] = {tag: value for tag, value in
                              zip(("FNAME", "LNAME", "PHONE"), parts[2:5], strict=True) if value}
    if any(parts[5:]):
        fields["ADDRESS"] = dict(zip(_ADDRESS, parts[5:], strict=True))
    return {"email_address": parts[0], "status": parts[1], "merge_fields": fields}


def text_hash(text: str) -> str:
    """Return the hash of a flattened payload."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def payload_hash(body: dict[str, Any]) -> str:
    """Return a stable hash of a payload: equal payloads, equal hashes."""
    return text_hash(flatten(body))


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """List (field, before, after) between two payloads, merge fields by their tag."""
    changes: list[tuple[str, Any, Any]] = []
    for key in ("email_address", "status"):
        if old.get(key) != new.get(key):
            changes.append((key, old.get(key), new.get(key)))
    before = old.get("merge_fields") or {}
    after = new.get("merge_fields") or {}
    for tag in sorted(set(before) | set(after)):
        if before.get(tag) != after.get(tag) and tag in after:
            changes.append((tag, before.get(tag), after.get(tag)))
    return changes
