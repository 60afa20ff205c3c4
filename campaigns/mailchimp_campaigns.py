"""The gateway's campaign calls: create, fill, test, schedule and send one regular campaign.

A mixin of ``Gateway`` (campaigns/mailchimp.py), which owns the SDK client, the retries and
the connection cap; every call here goes through its ``_call``.

Creating and sending are the two calls whose answer may be lost after Mailchimp acted on
them. Neither is repeated blindly: a create is looked up with ``find_campaign`` before it is
made again, and a send is retried only when Mailchimp refused it unprocessed (429); the
caller reads ``campaign(...).status`` before it decides to send again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from .mailchimp_errors import MailchimpError
from .mailchimp_types import CampaignInfo

CAMPAIGN_PAGE = 1000  # the largest page GET /campaigns returns
QUARTER_HOUR_MINUTES = 15  # Mailchimp schedules on the quarter hour only


def schedule_time(when: datetime) -> str:
    """Return ``when`` as Mailchimp's schedule_time (UTC ISO 8601), or raise ValueError."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"A schedule time needs a time zone, and {when.isoformat()} has none: "
                         "use an aware datetime such as datetime(..., tzinfo=UTC).")
    moment = when.astimezone(UTC)
    if moment.minute % QUARTER_HOUR_MINUTES or moment.second or moment.microsecond:
        raise ValueError(f"Mailchimp schedules campaigns on the quarter hour only (:00, :15, "
                         f":30 or :45); {moment.isoformat()} is not one.")
    return moment.isoformat(timespec="seconds")


class CampaignCalls:
    """Campaign calls for the gateway's audience; ``Gateway`` supplies ``_call`` and paging."""

    # Gateway overrides these three; declared here so this module reads (and type-checks) alone.
    @property
    def _list(self) -> str:
        raise NotImplementedError

    def _call(self, fn: Callable[[Any], Any], *, retry_network: bool = True,
              only_refused: bool = False) -> Any:
        raise NotImplementedError

    def _pages(self, fetch: Callable[[Any, int, int], Any], key: str,
               page_size: int = CAMPAIGN_PAGE) -> Iterator[list[dict[str, Any]]]:
        raise NotImplementedError

    def create_campaign(self, *, title: str, subject: str, preview_text: str, from_name: str,
                        reply_to: str, segment_id: int) -> CampaignInfo:
        """Create a regular campaign to one saved segment of the audience.

        Not retried after a lost answer (network error, timeout, 5xx): Mailchimp may have
        made it, so the caller looks for it with ``find_campaign`` before creating again.
        """
        body = {
            "type": "regular",
            "recipients": {"list_id": self._list,
                           "segment_opts": {"saved_segment_id": int(segment_id)}},
            "settings": {"subject_line": subject, "preview_text": preview_text, "title": title,
                         "from_name": from_name, "reply_to": reply_to},
        }
        return CampaignInfo.from_api(self._call(lambda c: c.campaigns.create(body),
                                                only_refused=True))

    def find_campaign(self, title: str) -> CampaignInfo | None:
        """Return the newest campaign of the audience with exactly this title, or None."""
        for page in self._pages(lambda c, count, offset: c.campaigns.list(
                list_id=self._list, count=count, offset=offset, sort_field="create_time",
                sort_dir="DESC"), "campaigns", page_size=CAMPAIGN_PAGE):
            for item in page:
                # Mailchimp cannot filter by title: compared here, exactly.
                if (item.get("settings") or {}).get("title") == title:
                    return CampaignInfo.from_api(item)
        return None

    def campaign(self, campaign_id: str) -> CampaignInfo | None:
        """Return one campaign, or None when Mailchimp has no campaign with this id."""
        try:
            return CampaignInfo.from_api(self._call(lambda c: c.campaigns.get(campaign_id)))
        except MailchimpError as exc:
            if exc.not_found:
                return None
            raise

    def set_content(self, campaign_id: str, *, html: str, plain_text: str) -> None:
        """Replace a campaign's HTML and plain-text content."""
        body = {"html": html, "plain_text": plain_text}
        # Idempotent: the same content twice leaves the campaign as once.
        self._call(lambda c: c.campaigns.set_content(campaign_id, body))

    def content(self, campaign_id: str) -> tuple[str, str]:
        """Return a campaign's content as (html, plain_text)."""
        data = self._call(lambda c: c.campaigns.get_content(campaign_id)) or {}
        return str(data.get("html") or ""), str(data.get("plain_text") or "")

    def send_test(self, campaign_id: str, emails: list[str]) -> None:
        """Send the campaign's HTML version as a test to these addresses."""
        body = {"test_emails": list(emails), "send_type": "html"}
        # A repeated test only mails the testers twice; a lost answer is safe to retry.
        self._call(lambda c: c.campaigns.send_test_email(campaign_id, body))

    def schedule(self, campaign_id: str, when: datetime) -> None:
        """Schedule the campaign for an aware time on a quarter hour (checked before calling).

        Scheduling a campaign already scheduled for that very time succeeds: that is what a
        retry after a lost answer meets.
        """
        body = {"schedule_time": schedule_time(when)}
        try:
            self._call(lambda c: c.campaigns.schedule(campaign_id, body))
        except MailchimpError as exc:
            now = self._status_after_refusal(campaign_id, exc)
            if now.status != "schedule" or now.send_time != when.astimezone(UTC):
                raise

    def unschedule(self, campaign_id: str) -> None:
        """Take a scheduled campaign back to draft (one already in draft is left as it is)."""
        try:
            self._call(lambda c: c.campaigns.unschedule(campaign_id))
        except MailchimpError as exc:
            # As for schedule: a retry after a lost answer finds the work done.
            if self._status_after_refusal(campaign_id, exc).status not in ("save", "paused"):
                raise

    def _status_after_refusal(self, campaign_id: str, error: MailchimpError) -> CampaignInfo:
        """Return the campaign after Mailchimp refused an action (400); raise ``error`` else."""
        if error.status != 400:
            raise error
        try:
            found = self.campaign(campaign_id)
        except MailchimpError:
            raise error from None
        if found is None:
            raise error
        return found

    def send(self, campaign_id: str) -> None:
        """Send the campaign now; never repeated when the first attempt's outcome is unknown.

        Only a 429 is retried: Mailchimp refused that call without acting on it. A timeout,
        a network error or a 5xx raises MailchimpError at once, since Mailchimp may be
        sending already; the caller reads ``campaign(campaign_id).status`` before it
        decides to send again.
        """
        self._call(lambda c: c.campaigns.send(campaign_id), only_refused=True)
