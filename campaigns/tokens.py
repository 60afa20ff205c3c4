"""Signed, expiring response tokens for run-for-office links (itsdangerous), and their URLs.

A token carries a recipient id and that recipient's random nonce, signed with the app's
secret and a salt of its own. It proves the link came from us; the nonce ties it to one
recipient row, so a token for a deleted or re-snapshotted row is refused too.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "crm.campaigns.response"
# Links in a staff preview carry the campaign only, signed with a salt of their own: they
# open a page that says it is a preview, and can never be read as a recipient's token.
PREVIEW_SALT = "crm.campaigns.response.preview"
ANSWER_PARAMS = {"YESURL": "yes", "NOTNOWURL": "not-now", "NOMURL": "nominate"}


class BadToken(Exception):
    """A response token that is forged, damaged or too old."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "forged" or "expired"


def new_nonce() -> str:
    """Return a fresh random nonce for a recipient row."""
    return secrets.token_urlsafe(12)


def _serializer(secret_key: str, salt: str = SALT) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def sign(secret_key: str, recipient_id: int, nonce: str) -> str:
    """Return the token for one recipient."""
    return str(_serializer(secret_key).dumps([recipient_id, nonce]))


def read(secret_key: str, token: str, *, max_age_days: int) -> tuple[int, str]:
    """Return (recipient id, nonce) from a token, or raise BadToken."""
    try:
        value = _serializer(secret_key).loads(token, max_age=max_age_days * 86400)
    except SignatureExpired:
        raise BadToken("expired") from None
    except BadSignature:
        raise BadToken("forged") from None
    if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], int)
            or not isinstance(value[1], str)):
        raise BadToken("forged")
    return value[0], value[1]


def sign_preview(secret_key: str, campaign_id: int) -> str:
    """Return the token of a staff preview's response links for one campaign."""
    return str(_serializer(secret_key, PREVIEW_SALT).dumps(campaign_id))


def read_preview(secret_key: str, token: str) -> int:
    """Return the campaign id of a preview token, or raise BadToken."""
    try:
        value = _serializer(secret_key, PREVIEW_SALT).loads(token)
    except BadSignature:
        raise BadToken("forged") from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadToken("forged")
    return value


def preview_urls(base_url: str, token: str) -> dict[str, str]:
    """Return the run-for-office merge values of a staff preview: links that record nothing."""
    return _answer_links(f"{base_url.rstrip('/')}/respond/preview/{quote(token, safe='')}")


def response_path(token: str) -> str:
    """Return the landing page's path for a token, below the CRM's URL prefix."""
    return f"/respond/{quote(token, safe='')}"


def response_urls(base_url: str, token: str) -> dict[str, str]:
    """Return the three run-for-office merge values (YESURL, NOTNOWURL, NOMURL)."""
    return _answer_links(base_url.rstrip("/") + response_path(token))


def _answer_links(page: str) -> dict[str, str]:
    return {tag: f"{page}?answer={answer}" for tag, answer in ANSWER_PARAMS.items()}
