"""The pipeline's JSON API: board counts, a contact's recruitment record and its history."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.test_api import Api, token_for
from tests.test_pipeline import person
from wsgi import db


@pytest.fixture
def api(app: Flask, staff_users: dict[str, str]) -> Api:
    return Api(app.test_client(), token_for(app, staff_users["organizer"]))


def test_api_put_get_history_and_counts(api: Api, app: Flask) -> None:
    with app.app_context():
        cid = person(db.session, "Ana")
        db.session.commit()
    assert api.get(f"/contacts/{cid}/recruitment").status_code == 404
    created = api.put(f"/contacts/{cid}/recruitment",
                      json={"office": "school_board", "jurisdiction": "MMSD"})
    assert created.status_code == 201, created.json
    assert created.json["stage"] == "prospect" and created.json["office"] == "school_board"
    moved = api.put(f"/contacts/{cid}/recruitment", json={"stage": "contacted", "note": "Call"})
    assert moved.status_code == 200 and moved.json["stage"] == "contacted"
    assert moved.json["jurisdiction"] == "MMSD"
    got = api.get(f"/contacts/{cid}/recruitment").json
    assert got["contact_id"] == cid and got["stage"] == "contacted"
    history = api.get(f"/contacts/{cid}/recruitment/history").json["items"]
    assert [(h["from_stage"], h["to_stage"], h["note"]) for h in history] == [
        ("prospect", "contacted", "Call"), (None, "prospect", None)]
    assert history[0]["actor"] == "organizer@example.org"
    counts = api.get("/pipeline").json
    assert counts["total"] == 1
    assert {s["stage"]: s["count"] for s in counts["stages"]}["contacted"] == 1
    assert [s["label"] for s in counts["stages"]][3] == "In training"


def test_api_rejects_bad_values_and_unknown_contacts(api: Api, app: Flask) -> None:
    with app.app_context():
        cid = person(db.session, "Ana")
        db.session.commit()
    bad = api.put(f"/contacts/{cid}/recruitment", json={"stage": "mayor", "office": "king"})
    assert bad.status_code == 422
    assert set(bad.json["errors"]) == {"stage", "office"}
    assert api.put("/contacts/999999/recruitment", json={}).status_code == 404
    assert api.get("/contacts/999999/recruitment/history").status_code == 404
    spec = app.test_client().get("/crm/api/v1/openapi.json").json
    assert "/crm/api/v1/contacts/{contact_id}/recruitment" in spec["paths"]
    assert re.search("RecruitmentPut", str(spec["components"]["schemas"]))
