"""The pure normalisers: each returns the stored form or a clear error."""

from __future__ import annotations

import pytest

from crm.validation import (
    normalize_email,
    normalize_phone,
    normalize_state,
    normalize_tag,
    normalize_text,
    normalize_zip,
    search_key,
)


def test_email_is_trimmed_and_keyed_lowercase_but_displayed_as_given() -> None:
    display, key = normalize_email("  Ana.Lopez@Example.ORG ")
    assert display == "Ana.Lopez@example.org"
    assert key == "ana.lopez@example.org"


@pytest.mark.parametrize("raw", ["", "   ", "not-an-email", "a@b", "two@@example.org",
                                 "x" * 320 + "@example.org"])
def test_bad_emails_are_refused_with_a_message(raw: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_email(raw)
    assert str(info.value)


@pytest.mark.parametrize(("raw", "expected"), [
    ("(608) 555-0134", "+16085550134"),
    ("608.555.0134", "+16085550134"),
    ("+1 608 555 0134", "+16085550134"),
    ("+44 20 7946 0958", "+442079460958"),
    ("", None),
    (None, None),
])
def test_phones_become_e164(raw: str | None, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12", "call me", "555-0134", "9" * 50])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_phone(raw)


def test_states_are_two_letter_codes() -> None:
    assert normalize_state(" wi ") == "WI"
    assert normalize_state("") is None
    with pytest.raises(ValueError, match="Unknown state"):
        normalize_state("XX")
    with pytest.raises(ValueError):
        normalize_state("Wisconsin")


@pytest.mark.parametrize(("raw", "expected"), [
    ("53703", "53703"), ("53703-1234", "53703-1234"), ("537031234", "53703-1234"),
    ("05401", "05401"), ("", None),
])
def test_zip_is_text_with_five_or_nine_digits(raw: str, expected: str | None) -> None:
    assert normalize_zip(raw) == expected


@pytest.mark.parametrize("raw", ["5370", "53703-12", "abcde", "537031"])
def test_bad_zips_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="ZIP"):
        normalize_zip(raw)


def test_text_is_trimmed_and_limited() -> None:
    assert normalize_text("city", "  Madison ") == "Madison"
    assert normalize_text("city", "   ") is None
    with pytest.raises(ValueError, match="at most 100"):
        normalize_text("city", "x" * 101)


def test_tags_compare_case_insensitively() -> None:
    assert normalize_tag("  Tax   Fairness ") == ("Tax Fairness", "tax fairness")
    with pytest.raises(ValueError):
        normalize_tag("  ")


def test_search_key_folds_case_and_space() -> None:
    assert search_key("  De  la Cruz ") == "de la cruz"
    assert search_key(None) == ""
