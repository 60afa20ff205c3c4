"""The contact and account pages through the test client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from crm import contacts, staff
from crm.security import CSP
from tests.conftest import PASSWORD, csrf_from, login
from wsgi import db

NEW = {"email": "Ana@Example.org", "first_name": "Ana", "last_name": "Lopez",
       "phone": "608-555-0134", "state": "WI", "zip": "53703", "city": "Madison",
       "email_status": "subscribed", "tags": "union-member, Tax Fairness",
       "custom_fields": "shirt: L\nlocal: 60"}


def create(client: FlaskClient, **overrides: Any) -> int:
    response = client.post("/crm/contacts/new", data={**NEW, **overrides})
    assert response.status_code == 302, response.data.decode()[-2000:]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_create_and_view_a_contact(as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    cid = create(client)
    page = client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    for text in ("Ana Lopez", "Ana@example.org", "+16085550134", "Madison", "53703",
                 "union-member", "Tax Fairness", "shirt", "Contact created", "Consent history",
                 "organizer@example.org"):
        assert text in page, text


def test_field_errors_are_shown_next_to_fields(as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    response = client.post("/crm/contacts/new", data={**NEW, "email": "nope", "phone": "12",
                                                      "zip": "1", "state": "ZZ",
                                                      "custom_fields": "no colon here"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count("invalid-feedback") >= 5
    assert "Not a valid email address" in page
    assert "ZIP must be 5 digits" in page
    assert "name: value" in page


def test_duplicate_email_offers_the_existing_contact(as_role: Callable[[str],
                                                                       FlaskClient]) -> None:
    client = as_role("organizer")
    cid = create(client)
    response = client.post("/crm/contacts/new", data={**NEW, "email": "ANA@example.org"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "already has the email" in page
    assert f"/crm/contacts/{cid}" in page


def test_edit_shows_the_audit_entry_with_before_and_after(
        as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    cid = create(client)
    form = client.get(f"/crm/contacts/{cid}/edit").get_data(as_text=True)
    assert 'value="Madison"' in form
    assert "Tax Fairness, union-member" in form
    response = client.post(f"/crm/contacts/{cid}/edit", data={**NEW, "city": "Milwaukee"})
    assert response.status_code == 302
    page = client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    assert "Contact edited" in page
    edited = page.split("Contact edited")[1].split("</table>")[0]
    assert "City" in edited and "Madison" in edited and "Milwaukee" in edited


def test_resubscribe_attempt_is_explained(as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("organizer")
    cid = create(client, email_status="unsubscribed")
    response = client.post(f"/crm/contacts/{cid}/edit", data={**NEW,
                                                               "email_status": "subscribed"})
    assert response.status_code == 422
    assert "fresh opt-in" in response.get_data(as_text=True)


def test_notes_tags_and_delete(as_role: Callable[[str], FlaskClient], app: Flask) -> None:
    client = as_role("organizer")
    cid = create(client)
    client.post(f"/crm/contacts/{cid}/notes", data={"body": "Interested in school board."})
    client.post(f"/crm/contacts/{cid}/tags", data={"name": "Recruit"})
    client.post(f"/crm/contacts/{cid}/tags/union-member/remove")
    page = client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    assert "Interested in school board." in page
    assert "Recruit" in page
    with app.app_context():
        assert sorted(t.name for t in contacts.get(db.session, cid).tags) == [
            "Recruit", "Tax Fairness"]
    client.post(f"/crm/contacts/{cid}/delete")
    assert client.get(f"/crm/contacts/{cid}").status_code == 404
    assert "Ana" not in client.get("/crm/contacts").get_data(as_text=True)
    client.post(f"/crm/contacts/{cid}/restore")
    assert client.get(f"/crm/contacts/{cid}").status_code == 200


def test_list_search_and_pages(as_role: Callable[[str], FlaskClient], app: Flask) -> None:
    app.config["CRM_PAGE_SIZE"] = 2
    client = as_role("organizer")
    for i, last in enumerate(["Garcia", "Garrison", "Okafor"]):
        create(client, email=f"p{i}@example.org", last_name=last, tags="")
    client.get("/crm/contacts")  # shows and clears the "Created" messages
    first = client.get("/crm/contacts").get_data(as_text=True)
    assert "Garcia" in first and "Garrison" in first and "Okafor" not in first
    assert "Next page" in first
    next_url = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert "Okafor" in second and "Garcia" not in second
    found = client.get("/crm/contacts?q=garr").get_data(as_text=True)
    assert "Garrison" in found and "Garcia" not in found
    forged = client.get("/crm/contacts?after=forged")
    assert forged.status_code == 200
    assert "not valid" in forged.get_data(as_text=True)


def test_login_logout_and_safe_redirects(app: Flask, staff_users: dict[str, str]) -> None:
    client = app.test_client()
    assert client.get("/crm/contacts").status_code == 302
    wrong = login(client, staff_users["viewer"], "wrong password")
    assert wrong.status_code == 401
    assert "Wrong email or password" in wrong.get_data(as_text=True)
    response = client.post("/crm/login?next=//evil.example/x",
                           data={"email": staff_users["viewer"], "password": PASSWORD})
    assert response.headers["Location"] == "/crm/contacts"
    client.post("/crm/logout")
    assert client.get("/crm/contacts").status_code == 302
    response = client.post("/crm/login?next=/crm/contacts?q=a",
                           data={"email": staff_users["viewer"], "password": PASSWORD})
    assert response.headers["Location"] == "/crm/contacts?q=a"


def test_password_change(as_role: Callable[[str], FlaskClient], app: Flask,
                         staff_users: dict[str, str]) -> None:
    client = as_role("viewer")
    bad = client.post("/crm/account", data={"current_password": "nope",
                                            "new_password": "another long one",
                                            "confirm": "another long one"})
    assert bad.status_code == 422
    assert "not your current password" in bad.get_data(as_text=True)
    ok = client.post("/crm/account", data={"current_password": PASSWORD,
                                           "new_password": "another long one",
                                           "confirm": "another long one"})
    assert ok.status_code == 302
    with app.app_context():
        assert staff.authenticate(db.session, staff_users["viewer"], "another long one")


def test_token_is_shown_once(as_role: Callable[[str], FlaskClient]) -> None:
    client = as_role("viewer")
    shown = client.post("/crm/account/tokens", data={"token-name": "signup form"})
    page = shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    token = page.split('id="new-token" class="user-select-all text-body">')[1].split("<")[0]
    assert token.startswith("crm_")
    later = client.get("/crm/account").get_data(as_text=True)
    assert token not in later and "signup form" in later and token[:12] in later


def test_admin_manages_staff(as_role: Callable[[str], FlaskClient], app: Flask) -> None:
    client = as_role("admin")
    response = client.post("/crm/admin/users", data={"email": "new@example.org", "name": "New",
                                                     "role": "organizer",
                                                     "password": "a long password"})
    assert response.status_code == 302
    with app.app_context():
        user = staff.find_user(db.session, "new@example.org")
        assert user is not None and user.role == "organizer"
        uid = user.id
    client.post(f"/crm/admin/users/{uid}", data={"role": "viewer"})  # unchecked: disabled
    with app.app_context():
        user = staff.get_user(db.session, uid)
        assert (user.role, user.active) == ("viewer", False)
    page = client.get("/crm/admin/users").get_data(as_text=True)
    assert "new@example.org" in page


def test_forms_without_csrf_token_are_rejected(csrf_app: Flask) -> None:
    with csrf_app.app_context():
        staff.create_user(db.session, "org@example.org", PASSWORD, role="organizer")
        db.session.commit()
    client = csrf_app.test_client()
    no_token = client.post("/crm/login", data={"email": "org@example.org", "password": PASSWORD})
    assert no_token.status_code == 400
    page = client.get("/crm/login")
    ok = client.post("/crm/login", data={"email": "org@example.org", "password": PASSWORD,
                                         "csrf_token": csrf_from(page.data)})
    assert ok.status_code == 302
    refused = client.post("/crm/contacts/new", data=NEW)
    assert refused.status_code == 400
    with csrf_app.app_context():
        assert contacts.find_by_email(db.session, "ana@example.org") is None
    token = csrf_from(client.get("/crm/contacts/new").data)
    accepted = client.post("/crm/contacts/new", data={**NEW, "csrf_token": token})
    assert accepted.status_code == 302


def test_security_headers_and_cookie_flags(as_role: Callable[[str], FlaskClient],
                                           shared_app: Callable[..., Flask]) -> None:
    client = as_role("viewer")
    response = client.get("/crm/contacts")
    assert response.headers["Content-Security-Policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page  # the CSP forbids inline code
    assert "cdn" not in page.lower()
    css = client.get("/bootstrap/static/css/bootstrap.min.css")
    assert css.status_code == 200
    css.close()
    secure = shared_app(SESSION_COOKIE_SECURE=True)
    with secure.app_context():
        staff.create_user(db.session, "v@example.org", PASSWORD, role="viewer")
        db.session.commit()
    cookie = login(secure.test_client(), "v@example.org").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
