"""The CRM mounted in someone else's Flask app: the README's example, run as written."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string, request
from flask_login import login_user
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

import crm
from campaigns import Campaigns, CampaignsSetupError
from crm import SetupError
from tests.conftest import csrf_from, database_url

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_example() -> str:
    text = README.read_text()
    match = re.search(r"<!-- plugin-example.*?-->\s*```python\n(.*?)```", text, re.S)
    assert match, "README lost its plugin example"
    return match.group(1)


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Build the README's host app, plus a page, a form and a login of the host's own."""
    (tmp_path / "host_app.py").write_text(readme_example())
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module("host_app")
    namespace = vars(module)
    app: Flask = namespace["create_app"]()
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url(tmp_path), TESTING=True)
    db: SQLAlchemy = namespace["db"]
    # The host overrides the CRM's layout with its own (Flask prefers app templates).
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "base.html").write_text(
        "<html><body><header>HOST LAYOUT</header>{% block content %}{% endblock %}</body></html>")
    app.template_folder = str(tmp_path)
    app.jinja_env.cache = {}
    user_model = namespace["User"]

    @app.route("/")
    def home() -> str:
        return "host home"

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str:
        if request.method == "POST":
            login_user(db.session.get(user_model, int(request.form["user_id"])))
            return "logged in"
        return render_template_string(
            '<form method="post"><input name="csrf_token" type="hidden" '
            'value="{{ csrf_token() }}"></form>')

    with app.app_context():
        # Hosts normally run the CRM's migrations; create_all is the short way for a test.
        db.drop_all()
        crm.Base.metadata.drop_all(db.engine)
        db.create_all()
        crm.Base.metadata.create_all(db.engine)
        for uid, role in ((1, "organizer"), (2, "viewer"), (3, None)):
            db.session.add(user_model(id=uid, email=f"u{uid}@host.example", crm_role=role))
        db.session.commit()
    yield {"app": app, "db": db}
    with app.app_context():
        db.session.remove()
        crm.Base.metadata.drop_all(db.engine)
        db.drop_all()
        db.engine.dispose()
    sys.modules.pop("host_app", None)


def host_login(app: Flask, user_id: int) -> Any:
    client = app.test_client()
    token = csrf_from(client.get("/login").data)
    response = client.post("/login", data={"csrf_token": token, "user_id": user_id})
    assert response.status_code == 200
    return client


def test_host_and_crm_both_work(host: dict[str, Any]) -> None:
    app = host["app"]
    client = host_login(app, 1)
    assert client.get("/").data == b"host home"
    page = client.get("/members/contacts")
    assert page.status_code == 200
    assert b"HOST LAYOUT" in page.data
    form = client.get("/members/contacts/new")
    created = client.post("/members/contacts/new", data={
        "csrf_token": csrf_from(form.data), "email": "ana@example.org",
        "email_status": "subscribed"})
    assert created.status_code == 302
    assert created.headers["Location"].startswith("/members/contacts/")
    detail = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "u1@host.example" in detail  # the audit names the host's user


def test_host_csrf_still_guards_both(host: dict[str, Any]) -> None:
    app = host["app"]
    client = host_login(app, 1)
    assert client.post("/login", data={"user_id": 1}).status_code == 400  # the host's form
    assert client.post("/members/contacts/new", data={"email": "a@example.org"}).status_code == 400


def test_roles_come_from_the_host_hook(host: dict[str, Any]) -> None:
    app = host["app"]
    viewer = host_login(app, 2)
    assert viewer.get("/members/contacts").status_code == 200
    assert viewer.get("/members/contacts/new").status_code == 403
    nobody = host_login(app, 3)
    assert nobody.get("/members/contacts").status_code == 403
    anonymous = app.test_client().get("/members/contacts")
    assert anonymous.status_code == 302
    assert "/login" in anonymous.headers["Location"]
    # The CRM's own staff pages are not mounted in a host with its own users.
    assert app.test_client().get("/members/login").status_code == 404
    assert app.test_client().get("/members/admin/users").status_code == 404


def test_api_tokens_for_host_users(host: dict[str, Any]) -> None:
    app = host["app"]
    result = app.test_cli_runner().invoke(args=["crm", "create-token", "1"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    client = app.test_client()
    me = client.get("/members/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json == {"actor": "u1@host.example", "role": "organizer"}
    bad = app.test_cli_runner().invoke(args=["crm", "create-token", "999"])
    assert bad.exit_code != 0


def test_host_error_pages_stay_the_hosts(host: dict[str, Any]) -> None:
    response = host["app"].test_client().get("/no-such-page")
    assert response.status_code == 404
    assert not response.is_json  # the API's JSON errors do not leak into the host


def make_bare() -> tuple[Flask, SQLAlchemy]:
    app = Flask("bare")
    app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI="sqlite://")
    return app, SQLAlchemy()


def test_init_order_errors_say_what_to_do() -> None:
    from flask_login import LoginManager

    app, db = make_bare()
    with pytest.raises(SetupError, match=r"db.init_app\(app\)"):
        crm.CRM(app, db=db)
    db.init_app(app)
    with pytest.raises(SetupError, match="CSRFProtect"):
        crm.CRM(app, db=db)
    CSRFProtect(app)
    with pytest.raises(SetupError, match="LoginManager"):
        crm.CRM(app, db=db)
    with pytest.raises(CampaignsSetupError, match=r"crm.CRM\(app, db=db\) before Campaigns"):
        Campaigns(app)
    LoginManager(app)
    crm.CRM(app, db=db)
    with pytest.raises(SetupError, match="already"):
        crm.CRM(app, db=db)
    Campaigns(app)
    assert app.extensions["campaigns"].crm is app.extensions["crm"]


def test_a_second_sqlalchemy_is_refused_not_created() -> None:
    from flask_login import LoginManager

    app, db = make_bare()
    db.init_app(app)
    CSRFProtect(app)
    LoginManager(app)
    with pytest.raises(SetupError, match="same SQLAlchemy"):
        crm.CRM(app, db=SQLAlchemy())


def test_builtin_accounts_refuse_a_host_user_loader() -> None:
    from flask_login import LoginManager

    app, db = make_bare()
    db.init_app(app)
    CSRFProtect(app)
    manager = LoginManager(app)
    manager.user_loader(lambda user_id: None)
    with pytest.raises(SetupError, match="CRM_BUILTIN_ACCOUNTS = False"):
        crm.CRM(app, db=db)


def test_cli_is_registered_without_blueprints() -> None:
    from flask_login import LoginManager

    app, db = make_bare()
    app.config["CRM_ENABLE_BLUEPRINTS"] = False
    db.init_app(app)
    CSRFProtect(app)
    LoginManager(app)
    crm.CRM(app, db=db)
    assert "crm" in app.cli.commands
    assert not [r for r in app.url_map.iter_rules() if r.endpoint.startswith("crm")]
