"""Read the sandbox Mailchimp's inbox: the messages its campaigns "sent", over its admin API.

``base_url`` is the sandbox's root (``http://127.0.0.1:8025``); its API root (ending in
``/3.0``) is taken as well. ``connection.inbox_url(app)`` gives it for an app, or None when
the app talks to the real Mailchimp, which has no inbox to read.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

NO_MESSAGE = "The sandbox inbox has no message with this id."
TIMEOUT = 5.0  # the sandbox runs on this machine; a slow answer means it is not there
API_SUFFIX = "/3.0"
# The sandbox is local: a configured HTTP proxy must not get these calls.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SandboxUnavailable(RuntimeError):
    """The sandbox did not answer, or answered with something that is not its inbox."""


def root(base_url: str) -> str:
    """Return the sandbox's root URL, given it or its API root."""
    url = base_url.rstrip("/")
    return url[: -len(API_SUFFIX)] if url.endswith(API_SUFFIX) else url


def _get(url: str, timeout: float) -> Any:
    try:
        with _OPENER.open(urllib.request.Request(url, method="GET"),
                          timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError:
        raise  # the caller decides what a status means
    except (OSError, ValueError) as exc:
        raise SandboxUnavailable(f"The sandbox Mailchimp at {url} did not answer: "
                                 f"{exc.__class__.__name__}: {exc}") from None


def messages(base_url: str, campaign_id: str | None = None, *, full: bool = False,
             timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Return the inbox, newest first: campaign_id, message_id, to, subject, test, sent_at.

    ``campaign_id`` keeps one campaign's messages; ``full`` adds each one's html and text.
    """
    query = {k: v for k, v in (("campaign_id", campaign_id), ("full", "1" if full else None))
             if v}
    url = f"{root(base_url)}/_sandbox/inbox"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    try:
        data = _get(url, timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise SandboxUnavailable(f"The sandbox Mailchimp at {url} answered {exc.code}.") from None
    found = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(found, list):
        raise SandboxUnavailable(f"{url} did not answer with an inbox.")
    return [m for m in found if isinstance(m, dict)]


def message(base_url: str, message_id: str, *, timeout: float = TIMEOUT) -> dict[str, Any] | None:
    """Return one message with its html and text, or None when the inbox has no such id."""
    url = f"{root(base_url)}/_sandbox/inbox/{urllib.parse.quote(message_id, safe='')}"
    try:
        data = _get(url, timeout)
    except urllib.error.HTTPError as exc:
        with exc:
            body = exc.read().decode("utf-8", "replace")
        # Only the inbox's own 404 means "no such message"; any other is not the sandbox.
        if exc.code == 404 and NO_MESSAGE in body:
            return None
        raise SandboxUnavailable(f"The sandbox Mailchimp at {url} answered {exc.code}.") from None
    if not isinstance(data, dict) or "message_id" not in data:
        raise SandboxUnavailable(f"{url} did not answer with a message.")
    return data
