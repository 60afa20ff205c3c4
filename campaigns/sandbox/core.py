"""The sandbox state's backbone: one lock, the audiences, the call log and saving to a file."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .model import (
    DEFAULT_LIST_ID,
    DEFAULT_LIST_NAME,
    Audience,
    iso,
    not_found,
    subscriber_hash,
    utc_now,
)

FILE_FORMAT = 1
MAX_CALLS_LOGGED = 200_000
# The inbox keeps the newest messages only: each holds a whole rendered email.
MAX_INBOX = 20_000
DEFAULT_PUBLIC_URL = "http://sandbox.localhost"
_log = logging.getLogger(__name__)


@dataclass
class CallRecord:
    """One API call the sandbox received: what was asked, when, and how it ended."""

    method: str
    path: str
    query: str
    time: float
    status: int | None = None
    fault: str | None = None


class StateCore:
    """Lock, clock, audiences, call log and persistence shared by the state's parts."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 now: Callable[[], datetime] = utc_now, save_delay: float = 0.5) -> None:
        self._lock = threading.Lock()
        self._now = now
        self.path = Path(path) if path is not None else None
        self.save_delay = save_delay
        self.audiences: dict[str, Audience] = {}
        self.deliveries: list[dict[str, Any]] = []
        # Campaigns by id (plain dicts, see sandbox/campaigns.py) and the mail they sent.
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.inbox: deque[dict[str, Any]] = deque(maxlen=MAX_INBOX)
        self._next_campaign = 0
        # Where links in sent mail point (unsubscribe); the running server sets its own.
        self.public_url = DEFAULT_PUBLIC_URL
        # Bounded so a sandbox left running for days does not grow without end.
        self._calls: deque[CallRecord] = deque(maxlen=MAX_CALLS_LOGGED)
        self._next_web_id = 1001
        self._next_segment_id = 1001
        self._dirty_generation = 0
        self._saved_generation = 0
        self._timer: threading.Timer | None = None
        self._iso_cache: tuple[int, str] = (-1, "")
        self._last_save_seconds = 0.0
        if self.path is not None and self.path.exists():
            self._load_file(self.path)
        if not self.audiences:
            self._add_audience_locked(DEFAULT_LIST_NAME, DEFAULT_LIST_ID)

    def add_audience(self, name: str, list_id: str | None = None) -> str:
        """Create another audience and return its id."""
        with self._lock:
            audience = self._add_audience_locked(name, list_id)
            self._changed()
            return audience.id

    def _add_audience_locked(self, name: str, list_id: str | None) -> Audience:
        if list_id is None:
            list_id = subscriber_hash(f"{name}:{len(self.audiences)}:{time.time()}")[:10]
        if list_id in self.audiences:
            raise ValueError(f"audience {list_id} already exists")
        audience = Audience(id=list_id, name=name, web_id=self._take_web_id(),
                            date_created=self.now_iso())
        self.audiences[list_id] = audience
        return audience

    def _audience(self, list_id: str) -> Audience:
        audience = self.audiences.get(list_id)
        if audience is None:
            raise not_found(f"The requested resource could not be found: list {list_id}.")
        return audience

    def _new_static_segment(self, audience: Audience, name: str) -> dict[str, Any]:
        now = self.now_iso()
        segment = {"id": self._take_segment_id(), "name": name, "type": "static",
                   "created_at": now, "updated_at": now, "members": set()}
        audience.segments[segment["id"]] = segment
        return segment

    def _touch(self, audience: Audience, member_ids: set[str] | list[str]) -> None:
        """Mark members changed now (tags count as a change); call with the lock held."""
        now = self.now_iso()
        for member_id in member_ids:
            member = audience.members.get(member_id)
            if member is not None:
                # Replaced, never edited in place: rendered copies may still be serialising.
                audience.members[member_id] = {**member, "last_changed": now}
        audience.version += 1

    def _take_web_id(self) -> int:
        self._next_web_id += 1
        return self._next_web_id

    def _take_segment_id(self) -> int:
        self._next_segment_id += 1
        return self._next_segment_id

    def _take_campaign_number(self) -> int:
        self._next_campaign += 1
        return self._next_campaign

    def now_iso(self) -> str:
        """Return the state's clock reading, formatted as Mailchimp formats times."""
        moment = self._now()
        second = int(moment.timestamp())
        cached = self._iso_cache
        if cached[0] != second:
            # Formatting dominates a 500-member batch otherwise; times have whole seconds.
            cached = self._iso_cache = (second, iso(moment))
        return cached[1]

    def record_call(self, method: str, path: str, query: str = "",
                    fault: str | None = None) -> CallRecord:
        """Append a call to the log and return the record (its status is filled in later)."""
        record = CallRecord(method=method.upper(), path=path, query=query, time=time.time(),
                            fault=fault)
        with self._lock:
            self._calls.append(record)
        return record

    @property
    def calls(self) -> list[CallRecord]:
        """Return a copy of the call log, oldest first."""
        with self._lock:
            return list(self._calls)

    def call_count(self, method: str | None = None, path_contains: str | None = None) -> int:
        """Count logged calls, optionally only one HTTP method and paths containing a text."""
        return sum(1 for c in self.calls
                   if (method is None or c.method == method.upper())
                   and (path_contains is None or path_contains in c.path))

    def reset_calls(self) -> None:
        """Forget the call log."""
        with self._lock:
            self._calls.clear()

    def _changed(self) -> None:
        """Note a mutation (call with the lock held); a save follows after ``save_delay``."""
        if self.path is None:
            return
        self._dirty_generation += 1
        if self._timer is None:
            # Debounced: a sync of thousands of contacts is many calls, one file write. A big
            # state takes long to write, so it is written less often, at most ~10% of the time.
            delay = max(self.save_delay, 10 * self._last_save_seconds)
            self._timer = threading.Timer(delay, self._timed_flush)
            self._timer.daemon = True
            self._timer.start()

    def _timed_flush(self) -> None:
        with self._lock:
            self._timer = None
        self.flush()

    def flush(self) -> None:
        """Write the state to its file now if anything changed since the last write."""
        if self.path is None:
            return
        started = time.monotonic()
        with self._lock:
            generation = self._dirty_generation
            if generation == self._saved_generation:
                return
            snapshot = self._snapshot()
        # Members are replaced, never edited in place, so the snapshot's shallow copies stay
        # true while it is encoded and written outside the lock. The rename is atomic: a
        # reader never sees half a file.
        text = json.dumps(snapshot)
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        temp.write_text(text, "utf-8")
        with self._lock:
            if generation > self._saved_generation:
                os.replace(temp, self.path)
                self._saved_generation = generation
            else:
                temp.unlink()
            self._last_save_seconds = time.monotonic() - started

    def close(self) -> None:
        """Cancel a pending timed save and save now."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush()

    def _snapshot(self) -> dict[str, Any]:
        # Campaigns are changed in place, but only in their top-level values, so a copy of
        # each one (and messages are never changed) stays true outside the lock.
        return {"format": FILE_FORMAT, "next_web_id": self._next_web_id,
                "next_segment_id": self._next_segment_id,
                "next_campaign": self._next_campaign,
                "audiences": [a.to_json() for a in self.audiences.values()],
                "campaigns": [dict(c) for c in self.campaigns.values()],
                "inbox": list(self.inbox)}

    def _load_file(self, path: Path) -> None:
        try:
            self._load(json.loads(path.read_text("utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            # A sandbox that will not start helps nobody; the old file is kept for a look.
            aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
            os.replace(path, aside)
            _log.warning("sandbox data %s unreadable (%s); moved to %s, starting empty",
                         path, exc, aside)
            self.audiences.clear()
            self.campaigns.clear()
            self.inbox.clear()

    def _load(self, data: dict[str, Any]) -> None:
        if data.get("format") != FILE_FORMAT:
            raise ValueError(f"{self.path} is not a sandbox state file this version can read")
        self._next_web_id = int(data.get("next_web_id", self._next_web_id))
        self._next_segment_id = int(data.get("next_segment_id", self._next_segment_id))
        for saved in data.get("audiences", []):
            audience = Audience.from_json(saved)
            self.audiences[audience.id] = audience
        # Files written before campaigns existed have none of these keys.
        self._next_campaign = int(data.get("next_campaign", self._next_campaign))
        self.campaigns = {c["id"]: dict(c) for c in data.get("campaigns", [])}
        self.inbox.extend(data.get("inbox", []))
