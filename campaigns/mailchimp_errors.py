"""One error type for everything Mailchimp (or the way to it) can answer with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Statuses worth another try: rate limited, or Mailchimp's side broke for a moment.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class MailchimpError(Exception):
    """A failed Mailchimp call: status (None for network errors), title, detail, field errors."""

    status: int | None
    title: str
    detail: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)
    timed_out: bool = False

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"Mailchimp {self.status}" if self.status else "Mailchimp unreachable"
        text = f"{head}: {self.title}"
        if self.detail and self.detail != self.title:
            text += f" — {self.detail}"
        if self.errors:
            text += " (" + "; ".join(f"{e.get('field', '')}: {e.get('message', '')}"
                                     for e in self.errors) + ")"
        return text

    @property
    def retryable(self) -> bool:
        """Tell whether the same call may succeed if tried again later."""
        return self.status is None or self.status in RETRYABLE_STATUSES

    @property
    def not_found(self) -> bool:
        """Tell whether Mailchimp said the resource does not exist."""
        return self.status == 404


def _problem(body: Any) -> dict[str, Any] | None:
    """Return a problem+json body as a dict, whether the SDK gave a dict or a JSON string."""
    if isinstance(body, dict):
        return body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None
    return None


def _field_errors(problem: dict[str, Any]) -> list[dict[str, str]]:
    found = problem.get("errors")
    if not isinstance(found, list):
        return []
    return [{"field": str(e.get("field", "")), "message": str(e.get("message", ""))}
            for e in found if isinstance(e, dict)]


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def from_status_and_body(status: int | None, body: Any) -> MailchimpError:
    """Build the error for an HTTP status and whatever body came with it."""
    problem = _problem(body)
    if problem is not None:
        return MailchimpError(
            # The HTTP status wins: a proxy's body can name another one.
            status=status or int(problem.get("status") or 0) or None,
            title=str(problem.get("title") or "Error"),
            detail=str(problem.get("detail") or ""),
            errors=_field_errors(problem),
        )
    text = body if isinstance(body, str) else ""
    if status == 403 and not text.strip():
        # Mailchimp answers a bare 403 when too many calls arrive at once.
        return MailchimpError(status=403, title="Forbidden",
                              detail="Mailchimp refused the call without saying why "
                                     "(it does this under very high load or for a bad key).")
    return MailchimpError(status=status, title=f"HTTP {status}" if status else "Error",
                          detail=_short(text) if "<html" not in text.lower() else
                          "Mailchimp answered with an HTML error page.")


def from_network(exc: BaseException) -> MailchimpError:
    """Build the error for a call that got no HTTP answer at all."""
    name = type(exc).__name__
    timed_out = "timeout" in name.lower() or "timed out" in str(exc).lower()
    title = "Timed out" if timed_out else "Connection failed"
    return MailchimpError(status=None, title=title, detail=_short(f"{name}: {exc}"),
                          timed_out=timed_out)


def from_sdk(exc: Exception) -> MailchimpError:
    """Turn the SDK's ApiClientError (or anything it let through) into a MailchimpError."""
    status = getattr(exc, "status_code", None)
    text = getattr(exc, "text", None)
    if status is None:
        # The SDK wraps network errors: the original exception sits in ``text``.
        return from_network(text if isinstance(text, BaseException) else exc)
    return from_status_and_body(int(status), text)
