"""Fault injection: latency on every call, and scripted failures for chosen calls.

Kinds, and what the client sees:

* ``429``, ``500``, ``503``: that status with a problem+json body; the call is not applied.
* ``"timeout"``: the answer (a 504) only comes after ``timeout_sleep`` seconds, after any
  sensible client timeout; the call is not applied.
* ``"drop"``: the connection closes with no answer; the call is not applied.
* ``"drop_after"``: the call IS applied, then the connection closes with no answer
  (Mailchimp did it, the client never heard).
* ``"bare403"``: 403 with an empty body, as Mailchimp answers under very high load.
* ``"html502"``: 502 with an HTML page, as a proxy in front of Mailchimp would.

A rule picks its calls by HTTP method and a piece of the path (``path_contains``), or by a
regular expression the whole path must match (``path_pattern``). ``add_step`` names the
campaign calls, which a piece of path cannot tell apart (POST /campaigns is also the start
of every action's path)::

    sandbox.faults.add_step("drop_after", "send")            # any campaign's send
    sandbox.faults.add_step("500", "create")                 # POST /campaigns only
    sandbox.faults.add_step("timeout", "content", campaign_id=cid)
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

KINDS = ("429", "500", "503", "timeout", "drop", "drop_after", "bare403", "html502")
_ANY_ID = "[^/]+"
# Each campaign call: its method and its path, with {id} for the campaign's id.
CAMPAIGN_STEPS: dict[str, tuple[str, str]] = {
    "create": ("POST", "/3.0/campaigns"),
    "list": ("GET", "/3.0/campaigns"),
    "get": ("GET", "/3.0/campaigns/{id}"),
    "content": ("PUT", "/3.0/campaigns/{id}/content"),
    "get_content": ("GET", "/3.0/campaigns/{id}/content"),
    "test": ("POST", "/3.0/campaigns/{id}/actions/test"),
    "schedule": ("POST", "/3.0/campaigns/{id}/actions/schedule"),
    "unschedule": ("POST", "/3.0/campaigns/{id}/actions/unschedule"),
    "send": ("POST", "/3.0/campaigns/{id}/actions/send"),
}


@dataclass
class FaultRule:
    """One scripted fault: which calls it hits, how many, after how many spared ones."""

    kind: str
    method: str | None = None
    path_contains: str | None = None
    times: int | None = 1
    after: int = 0
    seen: int = 0
    fired: int = 0
    path_pattern: str | None = None

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a call is one this rule is about (before counting)."""
        return ((self.method is None or self.method == method.upper())
                and (self.path_contains is None or self.path_contains in path)
                and (self.path_pattern is None
                     or re.fullmatch(self.path_pattern, path.rstrip("/")) is not None))

    @property
    def spent(self) -> bool:
        """Tell whether the rule has fired as often as it was asked to."""
        return self.times is not None and self.fired >= self.times


class Faults:
    """Latency and scripted faults for a sandbox server; safe to change while it runs."""

    def __init__(self, latency: float = 0.0, timeout_sleep: float = 3.0) -> None:
        self.latency = latency
        self.timeout_sleep = timeout_sleep
        self._made_with = (latency, timeout_sleep)
        self.rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, kind: int | str, method: str | None = None, path_contains: str | None = None,
            times: int | None = 1, after: int = 0,
            path_pattern: str | None = None) -> FaultRule:
        """Script a fault for the next matching calls; ``times=None`` means every one."""
        kind = str(kind)
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {', '.join(KINDS)}")
        if path_pattern is not None:
            re.compile(path_pattern)  # a typo fails here, not silently at match time
        rule = FaultRule(kind=kind, method=method.upper() if method else None,
                         path_contains=path_contains, times=times, after=after,
                         path_pattern=path_pattern)
        with self._lock:
            self.rules.append(rule)
        return rule

    def add_step(self, kind: int | str, step: str, campaign_id: str | None = None,
                 times: int | None = 1, after: int = 0) -> FaultRule:
        """Script a fault for one campaign call (see ``CAMPAIGN_STEPS``), of any campaign or one."""
        if step not in CAMPAIGN_STEPS:
            raise ValueError(f"unknown campaign step {step!r}; use one of "
                             f"{', '.join(CAMPAIGN_STEPS)}")
        method, path = CAMPAIGN_STEPS[step]
        ident = re.escape(campaign_id) if campaign_id else _ANY_ID
        pattern = re.escape(path).replace(re.escape("{id}"), ident)
        return self.add(kind, method=method, times=times, after=after, path_pattern=pattern)

    def clear(self) -> None:
        """Remove every scripted fault (latency stays)."""
        with self._lock:
            self.rules.clear()

    def reset(self) -> None:
        """Remove every scripted fault and restore the latency and timeout it was made with."""
        with self._lock:
            self.rules.clear()
            self.latency, self.timeout_sleep = self._made_with

    def take(self, method: str, path: str) -> str | None:
        """Return the fault kind to apply to this call, counting it against its rule."""
        with self._lock:
            chosen: str | None = None
            for rule in self.rules:
                if rule.spent or not rule.matches(method, path):
                    continue
                rule.seen += 1
                if chosen is None and rule.seen > rule.after:
                    rule.fired += 1
                    chosen = rule.kind
            return chosen

    @property
    def pending(self) -> int:
        """Count the faults still to fire (rules with ``times=None`` count once)."""
        with self._lock:
            return sum(1 if r.times is None else r.times - r.fired
                       for r in self.rules if not r.spent)
