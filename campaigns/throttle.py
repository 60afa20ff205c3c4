"""How calls to Mailchimp wait: at most N in flight per API key, and retries with backoff."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .mailchimp_errors import MailchimpError

T = TypeVar("T")
MAX_CONNECTIONS = 10  # Mailchimp's own limit per API key

_lock = threading.Lock()
_slots: dict[str, tuple[int, threading.BoundedSemaphore]] = {}


def slots_for(api_key: str, wanted: int) -> threading.BoundedSemaphore:
    """Return the process-wide semaphore that caps calls in flight for this API key."""
    size = max(1, min(int(wanted), MAX_CONNECTIONS))
    with _lock:
        current = _slots.get(api_key)
        # Every gateway built for one key shares one semaphore; the smallest wish wins.
        if current is None or size < current[0]:
            current = (size, threading.BoundedSemaphore(size))
            _slots[api_key] = current
        return current[1]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait before trying a failed call again."""

    attempts: int = 6
    base_seconds: float = 0.5
    cap_seconds: float = 30.0

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        """Return the wait before try ``attempt + 1``: capped exponential, full jitter."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** attempt))
        return ceiling * rng()


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    slots: threading.BoundedSemaphore,
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    retry_network: bool = True,
) -> T:
    """Run ``call`` holding a connection slot; retry 429, 5xx and network errors."""
    attempt = 0
    while True:
        with slots:
            try:
                return call()
            except MailchimpError as exc:
                error = exc
        attempt += 1
        transient = error.retryable and (retry_network or error.status is not None)
        if not transient or attempt >= policy.attempts:
            raise error
        # Sleep without the slot, so other calls can use the connection meanwhile.
        sleep(policy.delay(attempt - 1, rng))
