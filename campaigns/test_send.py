"""Send a test of a campaign to a few staff addresses, through Mailchimp's test action.

Mailchimp only tests a campaign it holds, with content. So each campaign gets its own test
campaign in Mailchimp, aimed at an empty static segment of its own: sending it by mistake
would reach nobody. Its title carries the campaign's id and a digest of the settings
Mailchimp fixes at creation (subject, sender), so the same test campaign is found and
reused until those change, and a changed subject gets a fresh one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from crm.errors import CRMError, ValidationFailed
from crm.validation import normalize_email

from . import email_render, preview
from .campaign_models import Campaign
from .mailchimp import Gateway
from .mailchimp_errors import MailchimpError
from .sending import Org

__test__ = False  # a module about test sends, not a test module
MAX_ADDRESSES = 5
SENDER_FIELDS = {"subject": "Add a subject line before sending a test.",
                 "from_name": "Say who the email is from before sending a test.",
                 "reply_to": "Give a reply-to address before sending a test."}


class TestSendFailed(CRMError):
    """Mailchimp did not take the test."""

    __test__ = False  # not a test case, whatever its name says
    status_code = 502


def addresses(raw: str | Iterable[str]) -> list[str]:
    """Return up to five checked staff addresses from text (commas, spaces, lines) or a list."""
    items = raw.replace(",", " ").replace(";", " ").split() if isinstance(raw, str) \
        else [str(item).strip() for item in raw if str(item).strip()]
    if not items:
        raise ValidationFailed({"emails": "Give at least one address to send the test to."})
    if len(items) > MAX_ADDRESSES:
        raise ValidationFailed({"emails": f"Send a test to at most {MAX_ADDRESSES} addresses "
                                          f"at a time (you gave {len(items)})."})
    found: list[str] = []
    for item in items:
        try:
            display, key = normalize_email(item)
        except ValueError as exc:
            raise ValidationFailed({"emails": f"{item}: {exc}"}) from None
        if key not in (f.lower() for f in found):
            found.append(display)
    return found


def trial_title(campaign: Campaign) -> str:
    """Return the title of the campaign's test campaign in Mailchimp."""
    settings = "\n".join((campaign.subject, campaign.preview_text, campaign.from_name,
                          campaign.reply_to))
    digest = hashlib.sha256(settings.encode()).hexdigest()[:8]
    return f"TEST {campaign.name[:60]} [crm {campaign.id} {digest}]"


def _segment_id(gateway: Gateway, name: str) -> int:
    for segment in gateway.static_segments():
        if segment.name == name:
            return segment.id
    return gateway.create_static_segment(name).id


def send_test(session: Session, gateway: Gateway, campaign: Campaign, emails: str | list[str],
              org: Org, preview_links: Mapping[str, str] | None = None) -> list[str]:
    """Send the campaign's email as a test to up to five addresses; return them.

    ``preview_links`` (``personalise.preview_values``) are written into the test's content in
    place of the response merge tags, so a test email's answers record nothing, whatever
    values its addresses hold in the audience.
    """
    to = addresses(emails)
    missing = {field: message for field, message in SENDER_FIELDS.items()
               if not getattr(campaign, field)}
    if missing:
        raise ValidationFailed(missing)
    # A draft's body is rendered now (CompileError says what stops it); later, the frozen one.
    html, text = preview.content(campaign, org)
    if preview_links:
        html = email_render.substitute(html, preview_links, html=True, keep_unknown=True)
        text = email_render.substitute(text, preview_links, html=False, keep_unknown=True)
    title = trial_title(campaign)
    try:
        info = gateway.find_campaign(title)
        if info is None or info.status not in ("save", "paused"):
            segment_id = _segment_id(gateway, f"TEST [crm {campaign.id}]")
            info = gateway.create_campaign(
                title=title, subject=campaign.subject, preview_text=campaign.preview_text,
                from_name=campaign.from_name, reply_to=campaign.reply_to,
                segment_id=segment_id)
        gateway.set_content(info.id, html=html, plain_text=text)
        gateway.send_test(info.id, to)
    except MailchimpError as exc:
        raise TestSendFailed(f"Mailchimp did not send the test: {exc}") from None
    return to
