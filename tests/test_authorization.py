"""Every CRM route for every role: who may read, who may change, who may manage staff."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from crm import contacts, staff
from tests.conftest import login, make_staff
from tests.databases import AppPool
from wsgi import db

ROLES = ("anonymous", "viewer", "organizer", "admin")
CAN = {
    "public": {"anonymous", "viewer", "organizer", "admin"},
    "view": {"viewer", "organizer", "admin"},
    "edit": {"organizer", "admin"},
    "manage_users": {"admin"},
}

# endpoint -> (permission, method, url arguments, form or JSON body)
ROUTES: dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any] | None]] = {
    ("crm.index", "GET"): ("view", {}, None),
    ("crm.contact_list", "GET"): ("view", {}, None),
    ("crm.contact_new", "GET"): ("edit", {}, None),
    ("crm.contact_new", "POST"): ("edit", {}, {"email": "new@example.org",
                                               "email_status": "subscribed"}),
    ("crm.contact_detail", "GET"): ("view", {"contact_id": "C"}, None),
    ("crm.contact_edit", "GET"): ("edit", {"contact_id": "C"}, None),
    ("crm.contact_edit", "POST"): ("edit", {"contact_id": "C"},
                                   {"email": "ana@example.org", "city": "Verona",
                                    "email_status": "subscribed"}),
    ("crm.contact_delete", "POST"): ("edit", {"contact_id": "C"}, {}),
    ("crm.contact_restore", "POST"): ("edit", {"contact_id": "C"}, {}),
    ("crm.contact_note", "POST"): ("edit", {"contact_id": "C"}, {"body": "hello"}),
    ("crm.contact_tag_add", "POST"): ("edit", {"contact_id": "C"}, {"name": "donor"}),
    ("crm.contact_tag_remove", "POST"): ("edit", {"contact_id": "C", "name": "union-member"}, {}),
    ("crm.static", "GET"): ("public", {"filename": "crm.css"}, None),
    ("crm_accounts.login", "GET"): ("public", {}, None),
    ("crm_accounts.login", "POST"): ("public", {}, {"email": "x@example.org", "password": "x"}),
    ("crm_accounts.logout", "POST"): ("public", {}, {}),
    ("crm_accounts.account", "GET"): ("view", {}, None),
    ("crm_accounts.account", "POST"): ("view", {}, {"current_password": "nope"}),
    ("crm_accounts.token_create", "POST"): ("view", {}, {"token-name": "t"}),
    ("crm_accounts.token_revoke", "POST"): ("view", {"token_id": "T"}, {}),
    ("crm_accounts.users", "GET"): ("manage_users", {}, None),
    ("crm_accounts.users", "POST"): ("manage_users", {}, {"email": "n@example.org",
                                                          "role": "viewer",
                                                          "password": "long enough pw"}),
    ("crm_accounts.user_update", "POST"): ("manage_users", {"user_id": "U"},
                                           {"role": "viewer", "active": "y"}),
    ("crm_api.me", "GET"): ("view", {}, None),
    ("crm_api.contact_list", "GET"): ("view", {}, None),
    ("crm_api.contact_create", "POST"): ("edit", {}, {"email": "api@example.org"}),
    ("crm_api.contact_get", "GET"): ("view", {"contact_id": "C"}, None),
    ("crm_api.contact_update", "PATCH"): ("edit", {"contact_id": "C"}, {"city": "Verona"}),
    ("crm_api.contact_delete", "DELETE"): ("edit", {"contact_id": "C"}, None),
    ("crm_api.contact_tags_add", "POST"): ("edit", {"contact_id": "C"}, {"tags": ["x"]}),
    ("crm_api.contact_tags_remove", "DELETE"): ("edit", {"contact_id": "C",
                                                         "name": "union-member"}, None),
    ("crm_api.openapi", "GET"): ("public", {}, None),
}


def _feature_modules() -> list[Any]:
    # Each feature lists its own routes in tests/authz_<feature>.py: ROUTES in the same
    # shape as above, and optionally seed(session, ids) adding the ids its URLs need.
    here = Path(__file__).parent
    paths = sorted(here.glob("authz_*.py"))
    return [importlib.import_module(f"tests.{path.stem}") for path in paths]


# The blueprints whose routes the matrix must cover, and those that are JSON APIs (they
# answer 401 rather than sending to the login page). A feature module may add its own.
BLUEPRINTS = {"crm", "crm_accounts", "crm_api"}
API_BLUEPRINTS = {"crm_api"}

for _module in _feature_modules():
    ROUTES.update(_module.ROUTES)
    BLUEPRINTS.update(getattr(_module, "BLUEPRINTS", ()))
    API_BLUEPRINTS.update(getattr(_module, "API_BLUEPRINTS", ()))


def is_api(endpoint: str) -> bool:
    return endpoint.split(".")[0] in API_BLUEPRINTS


def crm_rules(app: Flask) -> set[tuple[str, str]]:
    rules: set[tuple[str, str]] = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in BLUEPRINTS:
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                rules.add((rule.endpoint, method))
    return rules


def test_the_matrix_covers_every_route(app: Flask) -> None:
    assert crm_rules(app) == set(ROUTES)


@dataclass
class Matrix:
    """The app, its staff by role and the ids the matrix's URLs need."""

    app: Flask
    staff: dict[str, str]
    ids: dict[str, Any]


def seed_world(session: Session) -> tuple[dict[str, str], dict[str, Any]]:
    """Make the staff, a contact, tokens and every feature's rows; return staff and ids."""
    staff_users = make_staff(session)
    contact = contacts.create(session, {"email": "ana@example.org", "first_name": "Ana",
                                        "tags": ["union-member"]}, actor="seed")
    ids: dict[str, Any] = {"C": contact.id}
    for role, email in staff_users.items():
        user = staff.find_user(session, email)
        assert user is not None
        row, token = staff.issue_token(session, user.get_id())
        ids[f"T:{role}"] = row.id
        ids[f"bearer:{role}"] = token
    ids["U"] = staff.find_user(session, staff_users["viewer"]).id  # type: ignore[union-attr]
    for module in _feature_modules():
        if hasattr(module, "seed"):
            module.seed(session, ids)
    return staff_users, ids


@pytest.fixture
def matrix(app_pool: AppPool) -> Matrix:
    """The seeded world, seeded once for consecutive cases that change nothing.

    A case that may write (an allowed change, or a restore, which deletes first) spoils
    the seed, so the case after it gets a freshly seeded world.
    """
    app, (staff_users, ids) = app_pool.seeded(seed_world)
    return Matrix(app, staff_users, ids)


def may_write(role: str, endpoint: str, method: str) -> bool:
    """Tell whether a case may change the seeded rows."""
    permission = ROUTES[(endpoint, method)][0]
    return endpoint == "crm.contact_restore" or (method != "GET" and role in CAN[permission])


def client_for(app: Flask, role: str, staff_users: dict[str, str]) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        assert login(client, staff_users[role]).status_code == 302
    return client


def url_for_case(app: Flask, endpoint: str, args: dict[str, Any], ids: dict[str, Any],
                 role: str) -> str:
    values = {}
    for key, value in args.items():
        if value == "T":
            value = ids.get(f"T:{role}", ids["T:viewer"])
        elif isinstance(value, str) and value in ids:
            value = ids[value]
        values[key] = value
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **values)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", sorted(ROUTES), ids=lambda c: f"{c[0]}-{c[1]}")
def test_route_for_role(matrix: Matrix, app_pool: AppPool, role: str,
                        case: tuple[str, str]) -> None:
    app, staff_users, world = matrix.app, matrix.staff, matrix.ids
    endpoint, method = case
    permission, args, body = ROUTES[case]
    if may_write(role, endpoint, method):
        app_pool.spoil()
    client = client_for(app, role, staff_users)
    url = url_for_case(app, endpoint, args, world, role)
    if endpoint == "crm.contact_restore":
        with app.app_context():
            contacts.delete(db.session, world["C"], actor="seed")
            db.session.commit()
    api = is_api(endpoint)
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"json": body} if api else {"data": body}
    if api and role == "organizer":
        # The organizer calls the API with a token; the others with their session.
        kwargs["headers"] = {"Authorization": f"Bearer {world['bearer:organizer']}"}
        client = app.test_client()
    response = client.open(url, method=method, **kwargs)
    response.get_data()
    response.close()
    allowed = role in CAN[permission]
    if allowed:
        assert response.status_code < 400 or response.status_code in (401, 422), (
            response.status_code, response.data[:300])
        if response.status_code == 401:  # only a login with a wrong password may say so
            assert endpoint == "crm_accounts.login"
        location = response.headers.get("Location", "")
        if permission != "public":
            assert "/login" not in location
    elif role == "anonymous":
        if api:
            assert response.status_code == 401
        else:
            assert response.status_code == 302
            assert "/crm/login" in response.headers["Location"]
    elif permission == "manage_users":
        assert response.status_code == 404  # staff admin is not even shown to exist
    else:
        assert response.status_code == 403


def test_viewer_changes_nothing(matrix: Matrix, app_pool: AppPool) -> None:
    app, staff_users, world = matrix.app, matrix.staff, matrix.ids
    app_pool.spoil()  # it tries every change; should one land, no later case may see it
    client = client_for(app, "viewer", staff_users)
    for (endpoint, method), (_perm, args, body) in ROUTES.items():
        if method == "GET" or endpoint.startswith("crm_accounts."):
            continue
        url = url_for_case(app, endpoint, args, world, "viewer")
        kwargs = {"json": body} if is_api(endpoint) else {"data": body or {}}
        client.open(url, method=method, **kwargs)
    with app.app_context():
        contact = contacts.get(db.session, world["C"])
        assert contact.city is None
        assert [t.name for t in contact.tags] == ["union-member"]
        assert contacts.find_by_email(db.session, "new@example.org") is None
        assert contacts.find_by_email(db.session, "api@example.org") is None
