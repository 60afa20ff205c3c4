"""One batch of a push, done off the main thread: upsert members, then their tags."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .mailchimp import Gateway
from .mailchimp_errors import MailchimpError
from .mailchimp_types import MemberError
from .members import OPTED_OUT
from .sync_plan import Planned


@dataclass
class BatchOutcome:
    """What Mailchimp did with one batch; the main thread turns it into ledger rows."""

    number: int
    upto: int  # the last contact id the plan had read when this batch was cut
    items: list[Planned]
    added: set[str] = field(default_factory=set)
    updated: set[str] = field(default_factory=set)
    errors: list[MemberError] = field(default_factory=list)
    opted_out: dict[str, str] = field(default_factory=dict)  # email → status in Mailchimp
    undecided: set[str] = field(default_factory=set)  # refusals whose lookup failed
    tags_failed: set[str] = field(default_factory=set)
    tags_gone: set[str] = field(default_factory=set)  # tag ids Mailchimp no longer knows
    failure: MailchimpError | None = None


def _key(email: str) -> str:
    return email.strip().lower()


def send_batch(gateway: Gateway, number: int, upto: int, items: list[Planned],
               segment_ids: dict[str, int], campaign_segment: int | None = None
               ) -> BatchOutcome:
    """Push one batch of at most 500 members and their tag changes; never raises.

    With ``campaign_segment``, the batch's subscribed members are then added to that static
    segment (a campaign's audience), on the same connection, before the batch counts.
    """
    outcome = BatchOutcome(number, upto, items)
    try:
        _upsert(gateway, outcome)
        if campaign_segment is not None:
            _join_campaign(gateway, outcome, campaign_segment)
    except MailchimpError as exc:
        outcome.failure = exc
        return outcome
    # What follows is extra: if it fails, the members stay accepted and the next sync retries.
    _opt_outs(gateway, outcome)
    _tags(gateway, outcome, segment_ids)
    return outcome


def _upsert(gateway: Gateway, outcome: BatchOutcome) -> None:
    plain = [i for i in outcome.items if not i.email_changed]
    if plain:
        result = gateway.batch_upsert([i.payload for i in plain])
        outcome.added.update(_key(e) for e in result.new)
        outcome.updated.update(_key(e) for e in result.updated)
        outcome.errors.extend(result.errors)
    for item in outcome.items:
        if not item.email_changed:
            continue
        # A changed address: move the existing member, or Mailchimp would keep both.
        assert item.previous is not None
        try:
            gateway.upsert_member(item.email, status_if_new=item.payload["status"],
                                  status=item.payload["status"],
                                  merge_fields=item.payload["merge_fields"],
                                  previous_email=item.previous.email)
        except MailchimpError as exc:
            if exc.status is None or exc.retryable:
                raise
            outcome.errors.append(MemberError(item.email, exc.title, exc.detail or exc.title,
                                              ",".join(e["field"] for e in exc.errors)))
        else:
            outcome.updated.add(_key(item.email))


def _join_campaign(gateway: Gateway, outcome: BatchOutcome, segment_id: int) -> None:
    accepted = outcome.added | outcome.updated
    emails = [i.email for i in outcome.items
              if _key(i.email) in accepted and i.payload.get("status") == "subscribed"]
    if emails:
        change = gateway.change_static_segment(segment_id, emails, [])
        if change.errors:
            raise MailchimpError(None, "Segment refused members",
                                 f"{len(change.errors)} members could not join the "
                                 "campaign's segment.")


def _opt_outs(gateway: Gateway, outcome: BatchOutcome) -> None:
    # Mailchimp refuses to subscribe someone who opted out there: learn their status.
    for error in outcome.errors:
        if error.compliance:
            try:
                member = gateway.member(error.email)
            except MailchimpError:
                # Not a refusal to review: the next sync sends them and asks again.
                outcome.undecided.add(_key(error.email))
                continue
            if member is not None and member.status in OPTED_OUT:
                outcome.opted_out[_key(error.email)] = member.status


def _tags(gateway: Gateway, outcome: BatchOutcome, segment_ids: dict[str, int]) -> None:
    accepted = outcome.added | outcome.updated
    adds: dict[str, list[str]] = defaultdict(list)
    removes: dict[str, list[str]] = defaultdict(list)
    for item in outcome.items:
        key = _key(item.email)
        if key not in accepted:
            continue
        before = set(item.previous.tags or []) if item.previous is not None else set()
        for name in set(item.tags) - before:
            adds[name].append(item.email)
        for name in before - set(item.tags):
            removes[name].append(item.email)
    for name in sorted(set(adds) | set(removes)):
        segment_id = segment_ids.get(name)
        touched = adds.get(name, []) + removes.get(name, [])
        if segment_id is None:
            outcome.tags_failed.update(_key(e) for e in touched)
            continue
        try:
            change = gateway.change_static_segment(segment_id, adds.get(name, []),
                                                   removes.get(name, []))
        except MailchimpError as exc:
            outcome.tags_failed.update(_key(e) for e in touched)
            if exc.not_found:
                outcome.tags_gone.add(name)
            continue
        if change.errors:
            outcome.tags_failed.update(_key(e) for e in touched)
