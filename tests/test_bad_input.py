"""Hostile or broken input gets a clear 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

OUT_OF_RANGE = "99999999999999999999"


@pytest.mark.parametrize("url", [
    f"/crm/contacts/{OUT_OF_RANGE}",
    f"/crm/contacts/{OUT_OF_RANGE}/edit",
    "/crm/contacts/2147483648",
    f"/crm/api/v1/contacts/{OUT_OF_RANGE}",
    "/crm/contacts?after=WyJhIiwiYiIsOTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ",
    "/crm/api/v1/contacts?cursor=WyJhIiwiYiIsOTk5OTk5OTk5OTk5OTk5OTk5OTk5XQ",
    "/crm/contacts?q=%00%01%02",
    "/crm/contacts?q=" + "x" * 500,
    "/crm/contacts?tag=" + "t" * 500,
    "/crm/contacts?status=bogus",
    "/crm/contacts?state=%F0%9F%98%80",
])
def test_get_never_500(as_role: Callable[[str], FlaskClient], url: str) -> None:
    response = as_role("admin").get(url)
    assert response.status_code in (200, 400, 404, 422), (url, response.status_code)


@pytest.mark.parametrize("url", [
    f"/crm/admin/users/{OUT_OF_RANGE}",
    f"/crm/contacts/{OUT_OF_RANGE}/notes",
    f"/crm/account/tokens/{OUT_OF_RANGE}/revoke",
    "/crm/account/tokens/12345/revoke",
])
def test_post_never_500(as_role: Callable[[str], FlaskClient], url: str) -> None:
    response = as_role("admin").post(url, data={"role": "viewer", "body": "x"})
    assert response.status_code in (302, 400, 404), (url, response.status_code)


def test_weird_unicode_contact_round_trips(as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    response = client.post("/crm/contacts/new", data={
        "email": "zoë.ñúñez@exämple.org", "first_name": "Zoë 🌹", "last_name": "Ñúñez",
        "email_status": "subscribed", "tags": "solidarité"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Zoë 🌹 Ñúñez" in page and "solidarité" in page
    found = client.get("/crm/contacts?q=ñú").get_data(as_text=True)
    assert "Ñúñez" in found


@pytest.mark.parametrize("data", [{"email": "a\x00@example.org", "email_status": "subscribed"},
                                  {"email": "a@example.org", "first_name": "A\x00"}])
def test_nul_bytes_are_refused(as_role: Callable[[str], FlaskClient],
                               data: dict[str, str]) -> None:
    response = as_role("organizer").post("/crm/contacts/new", data=data)
    assert response.status_code == 400


def test_nul_escape_in_json_is_refused(as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    response = client.post("/crm/api/v1/contacts", data='{"email": "a\\u0000@example.org"}',
                           content_type="application/json")
    assert response.status_code == 400
    assert response.is_json
