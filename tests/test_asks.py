"""The chip-in ask ladder, its settings and donate links."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.asks import (
    BASES,
    FRIENDLY_AMOUNTS,
    AskConfig,
    campaign_from_refcode,
    donate_link,
    ladder,
    refcode_for,
)
from crm.errors import ValidationFailed

N = len(FRIENDLY_AMOUNTS)


@st.composite
def configs(draw: st.DrawFn) -> AskConfig:
    """Draw any valid config: floor and cap around at least three friendly amounts."""
    low = draw(st.integers(0, N - 3))
    high = draw(st.integers(low + 2, N - 1))
    floor = draw(st.integers(FRIENDLY_AMOUNTS[low - 1] + 1 if low else 1, FRIENDLY_AMOUNTS[low]))
    top = FRIENDLY_AMOUNTS[high + 1] - 1 if high + 1 < N else FRIENDLY_AMOUNTS[high] * 2
    cap = draw(st.integers(FRIENDLY_AMOUNTS[high], top))
    inside = FRIENDLY_AMOUNTS[low:high + 1]
    never = draw(st.lists(st.sampled_from(inside), min_size=3, max_size=3, unique=True))
    multipliers = draw(st.lists(st.floats(0.05, 20, allow_nan=False), min_size=3,
                                max_size=3, unique=True))
    return AskConfig(multipliers=tuple(sorted(multipliers)), floor=floor, cap=cap,
                     never_given=tuple(sorted(never)), basis=draw(st.sampled_from(BASES)))


cents = st.integers(-10_000, 50_000_000)
counts = st.integers(-1, 500)


@given(hpc=cents, last=cents, count=counts, config=configs())
def test_ladder_is_always_three_increasing_friendly_amounts_within_bounds(
        hpc: int, last: int, count: int, config: AskConfig) -> None:
    asks = ladder(hpc_cents=hpc, last_cents=last, gift_count=count, config=config)
    assert len(asks) == 3
    assert asks[0] < asks[1] < asks[2]
    assert all(a in FRIENDLY_AMOUNTS for a in asks)
    assert all(config.floor <= a <= config.cap for a in asks)


@given(hpc=cents, last=cents, config=configs())
def test_people_who_never_gave_get_the_fixed_ladder(hpc: int, last: int,
                                                    config: AskConfig) -> None:
    assert ladder(hpc_cents=hpc, last_cents=last, gift_count=0,
                  config=config) == config.never_given
    base = {"hpc_cents": hpc, "last_cents": last}
    base["hpc_cents" if config.basis == "hpc" else "last_cents"] = 0
    assert ladder(**base, gift_count=3, config=config) == config.never_given


@given(hpc=cents, last=cents, count=counts, config=configs())
def test_the_last_basis_reads_the_last_gift(hpc: int, last: int, count: int,
                                            config: AskConfig) -> None:
    on_last = AskConfig(**{**config.as_dict(), "basis": "last"})
    on_hpc = AskConfig(**{**config.as_dict(), "basis": "hpc"})
    assert (ladder(hpc_cents=hpc, last_cents=last, gift_count=count, config=on_last)
            == ladder(hpc_cents=last, last_cents=hpc, gift_count=count, config=on_hpc))


@given(a=st.integers(1, 50_000_000), b=st.integers(1, 50_000_000), config=configs())
def test_a_bigger_gift_never_lowers_an_ask(a: int, b: int, config: AskConfig) -> None:
    low, high = sorted((a, b))
    config = AskConfig(**{**config.as_dict(), "basis": "hpc"})
    small = ladder(hpc_cents=low, last_cents=0, gift_count=1, config=config)
    big = ladder(hpc_cents=high, last_cents=0, gift_count=1, config=config)
    assert all(s <= g for s, g in zip(small, big, strict=True))


@given(config=configs())
def test_a_config_survives_a_round_trip_through_a_dict(config: AskConfig) -> None:
    assert AskConfig.from_dict(config.as_dict()) == config


@pytest.mark.parametrize(("dollars", "expected"), [
    (1, (5, 10, 15)),           # all three round to the floor, then step up
    (10, (10, 15, 20)),
    (20, (20, 35, 50)),         # $30 ties between $25 and $35: upward; $40 is nearest $35
    (25, (25, 35, 50)),         # $37.50 is nearest $35
    (30, (35, 50, 75)),         # $30 ties upward to $35; $60 rounds to $50, stepped to $75
    (100, (100, 150, 200)),
    (200, (200, 250, 500)),     # $300 is nearest $250, $400 nearest $500
    (2500, (1500, 2000, 2500)),  # above the cap: the top rung is the cap, lower rungs step down
    (100_000, (1500, 2000, 2500)),
])
def test_worked_examples_with_the_default_config(dollars: int,
                                                 expected: tuple[int, int, int]) -> None:
    assert ladder(hpc_cents=dollars * 100, last_cents=0, gift_count=1,
                  config=AskConfig()) == expected


def test_worked_examples_with_other_settings() -> None:
    tight = AskConfig(floor=10, cap=25, never_given=(10, 15, 20))
    assert ladder(hpc_cents=500, last_cents=0, gift_count=2, config=tight) == (10, 15, 20)
    assert ladder(hpc_cents=50_000, last_cents=0, gift_count=2, config=tight) == (15, 20, 25)
    last = AskConfig(basis="last")
    assert ladder(hpc_cents=100_000, last_cents=2_000, gift_count=4,
                  config=last) == (20, 35, 50)
    assert ladder(hpc_cents=0, last_cents=0, gift_count=0, config=AskConfig()) == (10, 25, 50)


@pytest.mark.parametrize(("data", "field"), [
    ({"multipliers": [1, 2]}, "multipliers"),
    ({"multipliers": [2, 1.5, 3]}, "multipliers"),
    ({"multipliers": [1, 1, 2]}, "multipliers"),
    ({"multipliers": [0, 1, 2]}, "multipliers"),
    ({"multipliers": "1, lots, 3"}, "multipliers"),
    ({"multipliers": [1, 2, float("inf")]}, "multipliers"),
    ({"floor": 0}, "floor"),
    ({"floor": "five"}, "floor"),
    ({"floor": 2.5}, "floor"),
    ({"floor": True}, "floor"),
    ({"floor": 100, "cap": 50, "never_given": [10, 25, 50]}, "cap"),
    ({"floor": 100, "cap": 160, "never_given": [100, 150, 160]}, "cap"),
    ({"cap": -1}, "cap"),
    ({"never_given": [25, 10, 50]}, "never_given"),
    ({"never_given": [10, 25]}, "never_given"),
    ({"never_given": [10, 30, 50]}, "never_given"),
    ({"never_given": [10, 25, 5000]}, "never_given"),
    ({"basis": "average"}, "basis"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_settings_name_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        AskConfig.from_dict(data)
    assert field in caught.value.errors
    assert caught.value.errors[field]


def test_settings_accept_form_text() -> None:
    config = AskConfig.from_dict({"multipliers": "1, 1.25, 1.75", "floor": "$10",
                                  "cap": "1,000", "never_given": "15, 25, 50"})
    assert config == AskConfig(multipliers=(1, 1.25, 1.75), floor=10, cap=1000,
                               never_given=(15, 25, 50))
    assert config.as_dict()["multipliers"] == [1, 1.25, 1.75]


def test_donate_link_keeps_other_parameters_and_replaces_ours() -> None:
    url = donate_link("https://secure.actblue.com/donate/wi-progress?express_lane=true"
                      "&refcode=old&amount=3&utm_source=email#top",
                      refcode="crm-c42-a1", amount=35)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "https", "secure.actblue.com", "/donate/wi-progress", "top")
    assert parse_qsl(parts.query) == [("express_lane", "true"), ("utm_source", "email"),
                                      ("refcode", "crm-c42-a1"), ("amount", "35")]


def test_donate_link_encodes_and_leaves_the_amount_to_the_donor_when_none() -> None:
    url = donate_link("https://example.org/give", refcode="a b&c=d", amount=None)
    assert url == "https://example.org/give?refcode=a+b%26c%3Dd"
    assert "amount" not in url
    with pytest.raises(ValidationFailed) as caught:
        donate_link("javascript:alert(1)", refcode="x", amount=5)
    assert "donate_url" in caught.value.errors


@given(campaign_id=st.integers(1, 10**9), kind=st.text(max_size=30))
def test_refcodes_are_url_safe_and_lead_back_to_the_campaign(campaign_id: int,
                                                             kind: str) -> None:
    refcode = refcode_for(campaign_id, kind)
    assert re.fullmatch(r"crm-c\d+(-[a-z0-9_-]+)?", refcode)
    assert campaign_from_refcode(refcode) == campaign_id
    assert campaign_from_refcode(refcode + "-a2") == campaign_id


def test_refcode_examples() -> None:
    assert refcode_for(42, "chip_in") == "crm-c42-chip_in"
    assert refcode_for(42, "") == "crm-c42"
    assert campaign_from_refcode("crm-c421") == 421
    assert campaign_from_refcode("newsletter") is None
    with pytest.raises(ValueError):
        refcode_for(0, "chip_in")
