"""Search and keyset pagination of the contact list."""

from __future__ import annotations

from typing import Any

import pytest

from crm import contacts, listing
from crm.errors import InvalidCursor, ValidationFailed
from crm.listing import ContactFilter

PEOPLE = [
    ("Ana", "Lopez", "Madison", "WI", "+16085550134", ["union-member"]),
    ("Ben", "Garcia", "Milwaukee", "WI", "+14145550100", ["donor"]),
    ("Cara", "Garrison", "Duluth", "MN", None, []),
    ("Dev", "Okafor", "Green Bay", "WI", "+19205550111", ["union-member", "donor"]),
    ("Ed", "", "Madison", "WI", None, []),
    ("Gabriela", "Zhou", "Eau Claire", "WI", None, []),
]


@pytest.fixture
def people(session: Any) -> dict[str, int]:
    ids = {}
    for first, last, city, state, phone, tags in PEOPLE:
        contact = contacts.create(session, {
            "email": f"{first.lower()}@example.org", "first_name": first, "last_name": last,
            "city": city, "state": state, "phone": phone, "tags": tags}, actor="seed")
        ids[first] = contact.id
    session.commit()
    return ids


def names(session: Any, **kwargs: Any) -> list[str]:
    page = listing.page(session, ContactFilter(**kwargs), limit=50)
    return [c.first_name for c in page.items]


def test_ordered_by_last_then_first_name(session: Any, people: dict[str, int]) -> None:
    assert names(session) == ["Ed", "Ben", "Cara", "Ana", "Dev", "Gabriela"]


@pytest.mark.parametrize(("query", "expected"), [
    ("gar", ["Ben", "Cara"]),          # last-name prefix
    ("GA", ["Ben", "Cara", "Gabriela"]),  # case-insensitive, first names too
    ("madison", ["Ed", "Ana"]),        # city
    ("dev@", ["Dev"]),                 # email prefix
    ("414-555", ["Ben"]),              # phone as typed
    ("(920) 555", ["Dev"]),
    ("ana lopez", ["Ana"]),            # every word must match some field
    ("zzz", []),
])
def test_search(session: Any, people: dict[str, int], query: str, expected: list[str]) -> None:
    assert names(session, query=query) == expected


def test_filters_by_tag_state_and_status(session: Any, people: dict[str, int]) -> None:
    assert names(session, tag="Union-Member") == ["Ana", "Dev"]
    assert names(session, state="mn") == ["Cara"]
    contacts.update(session, people["Ben"], {"email_status": "unsubscribed"}, actor="x")
    assert names(session, email_status="unsubscribed") == ["Ben"]
    with pytest.raises(ValidationFailed):
        names(session, email_status="bogus")


def test_deleted_contacts_are_not_listed(session: Any, people: dict[str, int]) -> None:
    contacts.delete(session, people["Ana"], actor="x")
    assert "Ana" not in names(session)


def test_keyset_pages_cover_everyone_once(session: Any, people: dict[str, int]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = listing.page(session, ContactFilter(), cursor=cursor, limit=4)
        seen += [c.first_name for c in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["Ed", "Ben", "Cara", "Ana", "Dev", "Gabriela"]
    full = listing.page(session, ContactFilter(), limit=6)
    assert full.next_cursor is None


@pytest.mark.parametrize("cursor", ["garbage", "W10", "eyJhIjoxfQ", "!!!", "WyJhIiwiYiIsImMiXQ"])
def test_forged_cursors_are_refused_cleanly(session: Any, people: dict[str, int],
                                            cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        listing.page(session, ContactFilter(), cursor=cursor)


def test_limits_are_checked(session: Any) -> None:
    with pytest.raises(ValidationFailed):
        listing.page(session, ContactFilter(), limit=0)
    with pytest.raises(ValidationFailed):
        listing.page(session, ContactFilter(query="x" * 201))


def reference(people: list[tuple[str, str, str, str, str | None, list[str]]], query: str,
              tag: str = "") -> list[str]:
    """Filter and order in plain Python: what the SQL must return."""
    out = []
    for first, last, city, _state, phone, tags in people:
        fields = [f"{first.lower()}@example.org", first.lower(), last.lower(), city.lower()]
        words = query.lower().split()
        if not all(any(f.startswith(w) for f in fields) or (phone or "").startswith(w)
                   for w in words):
            continue
        if tag and tag.lower() not in [t.lower() for t in tags]:
            continue
        out.append((last.lower(), first.lower(), first))
    return [first for _l, _f, first in sorted(out)]


@pytest.mark.parametrize("rare_cutoff", [1, 2000])
@pytest.mark.parametrize(("query", "tag"), [("", ""), ("g", ""), ("ga", "donor"), ("m", ""),
                                            ("e", "union-member"), ("a", ""), ("", "donor")])
def test_search_pages_match_a_plain_python_reference(
        session: Any, people: dict[str, int], monkeypatch: pytest.MonkeyPatch,
        rare_cutoff: int, query: str, tag: str) -> None:
    # Both tag plans (IN for rare tags, EXISTS for common ones) must give the same rows.
    monkeypatch.setattr(listing, "_RARE_TAG", rare_cutoff)
    seen: list[str] = []
    cursor = None
    while True:
        page = listing.page(session, ContactFilter(query=query, tag=tag), cursor=cursor, limit=2)
        seen += [c.first_name for c in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == reference(PEOPLE, query, tag)


def test_an_unknown_tag_matches_nobody(session: Any, people: dict[str, int]) -> None:
    assert names(session, tag="no-such-tag") == []
