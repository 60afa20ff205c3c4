"""Each recipient's own merge values: their ask amounts, donate links and response links (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import asks, tokens


@dataclass(frozen=True)
class Giving:
    """What the ask ladder reads from a contact's giving summary."""

    hpc_cents: int = 0
    last_cents: int = 0
    gift_count: int = 0


@dataclass(frozen=True)
class Settings:
    """What personalising needs to know about one campaign."""

    kind: str
    refcode: str
    donate_url: str
    ask_config: asks.AskConfig
    secret_key: str
    response_base: str  # the public URL the landing page lives under (with the CRM prefix)


def member_values(first_name: str, last_name: str) -> dict[str, str]:
    """Return the name fields as the member sync sends them (blanks are never sent)."""
    values: dict[str, str] = {}
    if first_name:
        values["FNAME"] = first_name
    if last_name:
        values["LNAME"] = last_name
    return values


def campaign_values(settings: Settings, giving: Giving, *, recipient_id: int = 0,
                    nonce: str = "") -> dict[str, str]:
    """Return the campaign's own merge values for one recipient."""
    values: dict[str, str] = {}
    if settings.kind == "chip_in":
        values.update(_chip_in(settings, giving))
    elif settings.kind == "run_for_office":
        token = tokens.sign(settings.secret_key, recipient_id, nonce)
        values.update(tokens.response_urls(settings.response_base, token))
    return values


def preview_values(settings: Settings, campaign_id: int) -> dict[str, str]:
    """Return the response links a staff preview shows instead of a recipient's own."""
    if settings.kind != "run_for_office":
        return {}
    return tokens.preview_urls(settings.response_base,
                               tokens.sign_preview(settings.secret_key, campaign_id))


@lru_cache(maxsize=4096)
def _chip_in(settings: Settings, giving: Giving) -> dict[str, str]:
    # Donors share a few giving shapes and each link is parsed and encoded afresh, so a
    # 100,000-recipient snapshot spent most of its time here before this cache.
    ladder = asks.ladder(hpc_cents=giving.hpc_cents, last_cents=giving.last_cents,
                         gift_count=giving.gift_count, config=settings.ask_config)
    values = {"DONATEURL": asks.donate_link(settings.donate_url, refcode=settings.refcode,
                                            amount=None)}
    for number, amount in enumerate(ladder, start=1):
        values[f"ASK{number}"] = str(amount)
        values[f"DONATE{number}"] = asks.donate_link(
            settings.donate_url, refcode=f"{settings.refcode}-a{number}", amount=amount)
    return values

