"""Before a push: the audience's merge fields and tags, created when missing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from crm.errors import CRMError
from crm.models import utcnow

from .mailchimp import Gateway
from .mailchimp_errors import MailchimpError
from .members import CAMPAIGN_FIELDS, MEMBER_FIELDS
from .models import MailchimpMark

# A push trusts what an earlier one set up for this long, then checks Mailchimp again:
# an unchanged re-sync costs no calls, yet a field deleted in Mailchimp comes back.
TRUST = timedelta(hours=24)


class MergeFieldsMissing(CRMError):
    """The audience lacks a merge field the sync needs and it could not be created."""


def check(gateway: Gateway, limit: int) -> dict[str, Any]:
    """Say which merge fields are missing and whether they fit the audience's budget."""
    existing = {f.tag for f in gateway.merge_fields()}
    missing = [tag for tag, _, _ in MEMBER_FIELDS + CAMPAIGN_FIELDS if tag not in existing]
    warnings = []
    if len(existing) + len(missing) > limit:
        warnings.append(
            f"The audience has {len(existing)} merge fields and needs {len(missing)} more, "
            f"past its budget of {limit}. Delete unused merge fields in Mailchimp, or "
            "personalised campaign fields will be left out."
        )
    return {"existing": len(existing), "missing": missing, "limit": limit, "warnings": warnings}


def ensure(gateway: Gateway, limit: int) -> list[str]:
    """Create the merge fields the sync and campaigns need; return warnings for any left out."""
    return ensure_all(gateway, limit)[0]


def ensure_all(gateway: Gateway, limit: int) -> tuple[list[str], bool]:
    """Create the needed merge fields; return warnings and whether no creation failed.

    A field left out for the budget is final until staff make room; one that failed to be
    created is owed, and the next push tries again.
    """
    fields = {f.tag for f in gateway.merge_fields()}
    warnings: list[str] = []
    wanted: list[tuple[str, str, str]] = []
    for tag, name, type_ in MEMBER_FIELDS + CAMPAIGN_FIELDS:
        if tag in fields:
            continue
        if len(fields) + len(wanted) >= limit and (tag, name, type_) not in MEMBER_FIELDS:
            warnings.append(f"Merge field {tag} was not created: the audience's budget of "
                            f"{limit} merge fields is used up.")
            continue
        wanted.append((tag, name, type_))
    # Created side by side: one after another, a fresh audience waited a round trip each.
    with ThreadPoolExecutor(max_workers=max(1, min(len(wanted), 10))) as pool:
        failures = [(spec, error) for spec, error in
                    zip(wanted, pool.map(lambda spec: _create(gateway, spec), wanted),
                        strict=True) if error is not None]
    if failures:
        # A lost answer may have created it after all: look before giving up.
        fields = {f.tag for f in gateway.merge_fields()}
    complete = True
    for (tag, name, type_), error in failures:
        if tag in fields:
            continue
        if (tag, name, type_) in MEMBER_FIELDS:
            raise MergeFieldsMissing(
                f"Could not create the merge field {tag} in Mailchimp: {error}") from error
        warnings.append(f"Merge field {tag} was not created: {error}")
        complete = False
    return warnings, complete


def _create(gateway: Gateway, spec: tuple[str, str, str]) -> MailchimpError | None:
    try:
        gateway.create_merge_field(*spec)
    except MailchimpError as exc:
        return exc
    return None


def make_tag(gateway: Gateway, name: str) -> int:
    """Create a tag (a static segment) and return its id; find it if it already exists."""
    try:
        return gateway.create_static_segment(name).id
    except MailchimpError:
        for segment in gateway.static_segments():
            if segment.name == name:
                return segment.id
        raise


class Setup:
    """The merge fields and tag ids a push relies on, remembered between pushes."""

    def __init__(self, session: Session, gateway: Gateway, limit: int,
                 now: datetime | None = None) -> None:
        self.session, self.gateway, self.limit = session, gateway, limit
        self.now = now or utcnow()
        self.name = f"setup:{gateway.config.audience_id}"
        mark = session.get(MailchimpMark, self.name)
        value = dict(mark.value) if mark is not None else {}
        checked = value.get("fields_checked_at")
        self.fields_fresh = bool(checked) and self.now - datetime.fromisoformat(checked) < TRUST
        # A field that failed to be created last time: the next push tries again at once.
        self.owed = bool(value.get("fields_owed"))
        self.tag_ids: dict[str, int] = {str(k): int(v) for k, v in
                                        (value.get("tag_ids") or {}).items()}
        self.tags_listed = False
        self.dirty = False
        self.warnings: list[str] = list(value.get("warnings") or [])

    def fields(self) -> list[str]:
        """Make sure the merge fields exist (unless checked lately); return warnings."""
        if not self.fields_fresh or self.owed:
            # Owed until the fields are in place, whatever happens next in this push.
            self._save(fields_owed=True)
            self.warnings, complete = ensure_all(self.gateway, self.limit)
            self.fields_fresh, self.owed = complete, not complete
            self._save(fields_owed=not complete,
                       fields_checked_at=self.now.isoformat() if complete else None)
        return self.warnings

    def tag_id(self, name: str) -> int:
        """Return a tag's id, listing Mailchimp's tags once and creating one if missing."""
        if name not in self.tag_ids and not self.tags_listed:
            self.tag_ids.update({s.name: s.id for s in self.gateway.static_segments()})
            self.tags_listed = self.dirty = True
        if name not in self.tag_ids:
            self.tag_ids[name] = make_tag(self.gateway, name)
            self.dirty = True
        return self.tag_ids[name]

    def forget_tag(self, name: str) -> None:
        """Drop a tag id Mailchimp no longer knows (deleted there), to look it up again."""
        self.tag_ids.pop(name, None)
        self.dirty = True

    def _save(self, **extra: Any) -> None:
        mark = self.session.get(MailchimpMark, self.name)
        if mark is None:
            mark = MailchimpMark(name=self.name, value={})
            self.session.add(mark)
        mark.value = {**(mark.value or {}), "tag_ids": dict(self.tag_ids),
                      "warnings": self.warnings, **extra}

    def save(self) -> None:
        """Remember the tag ids for the next push, if they changed."""
        if self.dirty:
            self._save()
            self.dirty = False
