"""``SandboxState``: the sandbox Mailchimp's whole memory, thread-safe and free of HTTP.

The parts live in their own modules (members, segments and merge fields, webhooks,
campaigns and their inbox); this class puts them together. Every method takes the one lock
for as long as it reads or changes data, and never while it sleeps or talks to the network.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .campaigns import CampaignsMixin
from .core import CallRecord
from .model import DEFAULT_LIST_ID, utc_now

__all__ = ["DEFAULT_LIST_ID", "CallRecord", "SandboxState"]


class SandboxState(CampaignsMixin):
    """In-memory audiences, members, tags, webhooks, campaigns, their inbox and a call log.

    With ``path`` the state is read from that JSON file at start and written back (atomically,
    ``save_delay`` seconds after a change) so it outlives a restart.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *,
                 now: Callable[[], datetime] = utc_now, save_delay: float = 0.5,
                 merge_field_limit: int | None = None,
                 validate_webhooks: bool = True) -> None:
        super().__init__(path, now=now, save_delay=save_delay)
        if merge_field_limit is not None:
            self.merge_field_limit = merge_field_limit
        self.validate_webhooks = validate_webhooks
        self._options: dict[str, Any] = {"now": now, "save_delay": save_delay,
                                         "merge_field_limit": merge_field_limit,
                                         "validate_webhooks": validate_webhooks}

    def reset(self) -> None:
        """Forget everything, back to the state as it was made, empty of a file's data.

        The file (if any) and the public address stay; the file is rewritten empty.
        """
        fresh = type(self)(**self._options)
        with self._lock:
            timer = self._timer
            keep = {"_lock": self._lock, "path": self.path, "public_url": self.public_url,
                    "_dirty_generation": self._dirty_generation,
                    "_saved_generation": self._saved_generation}
            self.__dict__.clear()
            self.__dict__.update(fresh.__dict__)
            self.__dict__.update(keep)
            self._changed()
        if timer is not None:
            timer.cancel()

    @property
    def default_list_id(self) -> str:
        """Return the id of the first audience (the one every sandbox starts with)."""
        with self._lock:
            return next(iter(self.audiences))

    def get_list(self, list_id: str) -> dict[str, Any]:
        """Return the list object with live stats, or raise a 404 problem."""
        with self._lock:
            return self._audience(list_id).render()

    def member_count(self, list_id: str | None = None, status: str | None = None) -> int:
        """Count an audience's members, optionally only those with one status."""
        with self._lock:
            audience = self._audience(list_id or next(iter(self.audiences)))
            return sum(1 for m in audience.members.values()
                       if status is None or m["status"] == status)
