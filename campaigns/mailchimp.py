"""The Mailchimp gateway: the only module that talks to the ``mailchimp_marketing`` SDK."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import mailchimp_marketing
import requests

from . import throttle
from .mailchimp_campaigns import CampaignCalls
from .mailchimp_errors import MailchimpError, from_sdk, from_status_and_body
from .mailchimp_types import (
    Audience,
    BatchResult,
    Member,
    MemberError,
    MergeField,
    SegmentChange,
    StaticSegment,
    Webhook,
)

BATCH_MAX = 500  # members per batch call, and emails per static-segment change
PAGE_MAX = 1000  # the largest page Mailchimp returns


def subscriber_hash(email: str) -> str:
    """Return Mailchimp's id for an address: the MD5 of the lowercased email."""
    return hashlib.md5(email.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def server_from_key(api_key: str) -> str:
    """Return the data centre named by an API key's suffix ("…-us6" → "us6")."""
    _, _, suffix = api_key.rpartition("-")
    return suffix if suffix and suffix != api_key else ""


@dataclass(frozen=True)
class MailchimpConfig:
    """Where and how to reach one Mailchimp audience."""

    api_key: str
    audience_id: str
    server: str = ""
    timeout: float = 30.0
    max_connections: int = throttle.MAX_CONNECTIONS
    batch_size: int = BATCH_MAX  # members per batch call of a sync
    host: str | None = None  # a local API root such as http://127.0.0.1:8025/3.0 (the sandbox)
    sandbox: bool = False
    retry: throttle.RetryPolicy = field(default_factory=throttle.RetryPolicy)

    @property
    def data_centre(self) -> str:
        """Return the server prefix: configured, else the key's suffix."""
        return self.server or server_from_key(self.api_key)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class _Final(Exception):
    """Carries an error past the retry loop, which retries only a MailchimpError."""

    def __init__(self, error: MailchimpError) -> None:
        super().__init__(str(error))
        self.error = error


class Gateway(CampaignCalls):
    """Domain-shaped calls to one audience, each retried and throttled per API key.

    The campaign calls come from ``CampaignCalls`` (campaigns/mailchimp_campaigns.py).
    """

    def __init__(self, config: MailchimpConfig, *, sleep: Callable[[float], None] | None = None,
                 rng: Callable[[], float] | None = None) -> None:
        self.config = config
        self._local = threading.local()
        self._slots = throttle.slots_for(config.api_key, config.max_connections)
        self._waits: dict[str, Any] = {}
        self._count_lock = threading.Lock()
        self.calls = 0  # HTTP calls made, retries included
        if sleep is not None:
            self._waits["sleep"] = sleep
        if rng is not None:
            self._waits["rng"] = rng

    @property
    def sandbox(self) -> bool:
        """Tell whether this gateway talks to the local sandbox instead of Mailchimp."""
        return self.config.sandbox

    def _client(self) -> Any:
        # One SDK client per thread: it keeps settings on itself, and calls run in parallel.
        client = getattr(self._local, "client", None)
        if client is None:
            client = mailchimp_marketing.Client()
            client.set_config({"api_key": self.config.api_key, "server": self.config.data_centre,
                               "timeout": self.config.timeout})
            if self.config.host:
                client.api_client.host = self.config.host.rstrip("/")
            self._local.client = client
        return client

    def _call(self, fn: Callable[[Any], Any], *, retry_network: bool = True,
              only_refused: bool = False) -> Any:
        """Run one SDK call with the cap and retries.

        ``retry_network=False``: a call that got no answer is not repeated (it may have been
        applied). ``only_refused=True``: only a 429 is repeated, because every other failure,
        a 5xx included, leaves unknown whether Mailchimp acted on the call.
        """

        def once() -> Any:
            with self._count_lock:
                self.calls += 1
            try:
                result = fn(self._client())
            except MailchimpError:
                raise
            except Exception as exc:  # the SDK raises ApiClientError, or lets others through
                raise from_sdk(exc) from None
            if isinstance(result, requests.Response):
                # 204s arrive as a Response, and so do errors with an empty body.
                if not result.ok:
                    raise from_status_and_body(result.status_code, result.text)
                return None
            return result

        def refused_only() -> Any:
            try:
                return once()
            except MailchimpError as exc:
                if exc.status != 429:
                    raise _Final(exc) from None
                raise

        try:
            return throttle.call_with_retries(refused_only if only_refused else once,
                                              self.config.retry, self._slots,
                                              retry_network=retry_network, **self._waits)
        except _Final as final:
            raise final.error from None

    @property
    def _list(self) -> str:
        return self.config.audience_id

    # -- the account and the audience -------------------------------------------------
    def ping(self) -> str:
        """Check the key works; return Mailchimp's health status text."""
        data = self._call(lambda c: c.ping.get())
        return str((data or {}).get("health_status", ""))

    def audience(self) -> Audience:
        """Return the configured audience's name and counts."""
        return Audience.from_api(self._call(lambda c: c.lists.get_list(self._list)))

    def merge_fields(self) -> list[MergeField]:
        """Return every merge field of the audience."""
        found: list[MergeField] = []
        for page in self._pages(lambda c, count, offset: c.lists.get_list_merge_fields(
                self._list, count=count, offset=offset), "merge_fields", page_size=100):
            found.extend(MergeField.from_api(item) for item in page)
        return found

    def create_merge_field(self, tag: str, name: str, type_: str) -> MergeField:
        """Add a merge field to the audience."""
        body = {"tag": tag, "name": name, "type": type_, "public": False, "required": False}
        # Not retried on network errors: a lost answer could mean it was created.
        return MergeField.from_api(self._call(
            lambda c: c.lists.add_list_merge_field(self._list, body), retry_network=False))

    # -- members ----------------------------------------------------------------------
    def batch_upsert(self, members: list[dict[str, Any]]) -> BatchResult:
        """Add or update up to 500 members in one call; per-member errors come back, not raise."""
        if not members:
            return BatchResult([], [], [])
        if len(members) > BATCH_MAX:
            raise ValueError(f"At most {BATCH_MAX} members per batch, not {len(members)}.")
        body = {"members": members, "update_existing": True}
        data = self._call(lambda c: c.lists.batch_list_members(self._list, body))
        return BatchResult(
            new=[str(m.get("email_address", "")) for m in data.get("new_members") or []],
            updated=[str(m.get("email_address", "")) for m in data.get("updated_members") or []],
            errors=[MemberError.from_api(e) for e in data.get("errors") or []],
        )

    def upsert_member(self, email: str, *, status_if_new: str, status: str | None = None,
                      merge_fields: dict[str, Any] | None = None,
                      previous_email: str | None = None) -> Member:
        """Add or update one member (found by ``previous_email`` when the address changed).

        An existing member's status changes only when ``status`` is given.
        """
        body: dict[str, Any] = {"email_address": email, "status_if_new": status_if_new}
        if status is not None:
            body["status"] = status
        if merge_fields:
            body["merge_fields"] = merge_fields
        key = subscriber_hash(previous_email or email)
        return Member.from_api(self._call(lambda c: c.lists.set_list_member(self._list, key, body)))

    def member(self, email: str) -> Member | None:
        """Return one member, or None when the audience does not have the address."""
        key = subscriber_hash(email)
        try:
            return Member.from_api(self._call(lambda c: c.lists.get_list_member(self._list, key)))
        except MailchimpError as exc:
            if exc.not_found:
                return None
            raise

    def members_changed(self, *, status: str, since: datetime | None,
                        page_size: int = PAGE_MAX) -> Iterator[Member]:
        """Yield members with this status whose record changed since a moment (all if None)."""
        extra: dict[str, Any] = {"status": status}
        if since is not None:
            extra["since_last_changed"] = _iso(since)
        for page in self._pages(lambda c, count, offset: c.lists.get_list_members_info(
                self._list, count=count, offset=offset, **extra), "members", page_size=page_size):
            yield from (Member.from_api(item) for item in page)

    def set_tags(self, email: str, active: list[str], inactive: list[str]) -> None:
        """Switch tags on and off for one member."""
        tags = [{"name": n, "status": "active"} for n in active]
        tags += [{"name": n, "status": "inactive"} for n in inactive]
        if tags:
            key = subscriber_hash(email)
            self._call(lambda c: c.lists.update_list_member_tags(self._list, key, {"tags": tags}))

    # -- tags and static segments -------------------------------------------------------
    def static_segments(self) -> list[StaticSegment]:
        """Return the audience's static segments (Mailchimp keeps tags as static segments)."""
        found: list[StaticSegment] = []
        for page in self._pages(lambda c, count, offset: c.lists.list_segments(
                self._list, type="static", count=count, offset=offset), "segments"):
            found.extend(StaticSegment.from_api(item) for item in page)
        return found

    def create_static_segment(self, name: str, emails: list[str] | None = None) -> StaticSegment:
        """Create a static segment (a tag) holding these members."""
        body = {"name": name, "static_segment": list(emails or [])[:BATCH_MAX]}
        return StaticSegment.from_api(self._call(
            lambda c: c.lists.create_segment(self._list, body), retry_network=False))

    def change_static_segment(self, segment_id: int, add: list[str],
                              remove: list[str]) -> SegmentChange:
        """Add and remove up to 500 members each to a static segment (or tag)."""
        if len(add) > BATCH_MAX or len(remove) > BATCH_MAX:
            raise ValueError(f"At most {BATCH_MAX} emails to add and to remove per call.")
        body = {"members_to_add": add, "members_to_remove": remove}
        data = self._call(lambda c: c.lists.batch_segment_members(body, self._list,
                                                                  str(segment_id)))
        return SegmentChange.from_api(data)

    # -- webhooks ---------------------------------------------------------------------
    def webhooks(self) -> list[Webhook]:
        """Return the webhooks registered on the audience."""
        data = self._call(lambda c: c.lists.get_list_webhooks(self._list))
        return [Webhook.from_api(item) for item in data.get("webhooks") or []]

    def add_webhook(self, url: str, events: list[str], sources: list[str]) -> Webhook:
        """Register a webhook for these events from these sources."""
        body = {
            "url": url,
            "events": {name: name in events for name in
                       ("subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign")},
            "sources": {name: name in sources for name in ("user", "admin", "api")},
        }
        return Webhook.from_api(self._call(
            lambda c: c.lists.create_list_webhook(self._list, body), retry_network=False))

    # -- paging -----------------------------------------------------------------------
    def _pages(self, fetch: Callable[[Any, int, int], Any], key: str,
               page_size: int = PAGE_MAX) -> Iterator[list[dict[str, Any]]]:
        offset = 0
        while True:
            data = self._call(lambda c, o=offset: fetch(c, page_size, o))
            items = list(data.get(key) or [])
            if items:
                yield items
            offset += len(items)
            total = int(data.get("total_items") or 0)
            if not items or offset >= total:
                return
