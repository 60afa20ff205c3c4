"""The recruitment pipeline: the service, the board, the funnel chart, the panel and the API."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from crm import contacts, pipeline
from crm.errors import NotFound, ValidationFailed
from crm.models import StageChange
from crm.pipeline_forms import DetailsForm, StaffDetailsForm, details_form
from tests.conftest import csrf_from
from wsgi import db

SVG = "{http://www.w3.org/2000/svg}"


def person(session: Any, first: str, last: str = "Doe", **extra: Any) -> int:
    email = re.sub(r"[^a-z.]", "", f"{first}.{last}".lower()) + "@example.org"
    return contacts.create(session, {"email": email, "first_name": first, "last_name": last,
                                     **extra}, actor="t").id


# --- service ---------------------------------------------------------------------------------


def test_add_and_move_keep_every_stage_change(session: Any) -> None:
    cid = person(session, "Ana")
    recruit = pipeline.add_to_pipeline(session, cid, office="school_board",
                                       jurisdiction="  Madison Metropolitan School District ",
                                       owner="organizer@example.org", actor="amy@example.org")
    assert (recruit.stage, recruit.target_office) == ("prospect", "school_board")
    assert recruit.jurisdiction == "Madison Metropolitan School District"
    change = pipeline.move(session, cid, "interested", actor="bo@example.org", note="Said yes")
    assert change is not None and (change.from_stage, change.to_stage) == ("prospect", "interested")
    assert pipeline.move(session, cid, "interested", actor="bo@example.org") is None
    moves = [(c.from_stage, c.to_stage, c.actor, c.note) for c in pipeline.history(session, cid)]
    assert moves == [("prospect", "interested", "bo@example.org", "Said yes"),
                     (None, "prospect", "amy@example.org", None)]
    assert pipeline.get(session, cid).stage == "interested"


def test_bad_input_names_each_field(session: Any) -> None:
    cid = person(session, "Ana")
    with pytest.raises(ValidationFailed) as caught:
        pipeline.add_to_pipeline(session, cid, stage="mayor", office="king", owner="x" * 321,
                                 jurisdiction="j" * 201, actor="t")
    assert set(caught.value.errors) == {"stage", "office", "owner", "jurisdiction"}
    pipeline.add_to_pipeline(session, cid, actor="t")
    with pytest.raises(ValidationFailed, match="contact_id"):
        pipeline.add_to_pipeline(session, cid, actor="t")
    with pytest.raises(ValidationFailed) as caught:
        pipeline.move(session, cid, "nowhere", actor="t")
    assert "stage" in caught.value.errors
    with pytest.raises(NotFound):
        pipeline.move(session, person(session, "Bo"), "contacted", actor="t")
    with pytest.raises(NotFound):
        pipeline.add_to_pipeline(session, 999_999, actor="t")


def test_details_update_is_audited_and_removal_keeps_history(session: Any) -> None:
    cid = person(session, "Ana")
    pipeline.add_to_pipeline(session, cid, office="city_council", actor="t")
    pipeline.update_details(session, cid, {"owner": "amy@example.org", "office": ""}, actor="t")
    recruit = pipeline.get(session, cid)
    assert (recruit.owner, recruit.target_office) == ("amy@example.org", None)
    pipeline.move(session, cid, "contacted", actor="t")
    pipeline.remove(session, cid, actor="t")
    assert pipeline.find(session, cid) is None
    assert len(pipeline.history(session, cid)) == 2
    # Back in the pipeline later: a fresh start, the old history still there.
    pipeline.add_to_pipeline(session, cid, stage="interested", actor="t")
    assert [c.to_stage for c in pipeline.history(session, cid)] == ["interested", "contacted",
                                                                    "prospect"]


def test_save_creates_then_updates_and_moves(session: Any) -> None:
    cid = person(session, "Ana")
    recruit, created = pipeline.save(session, cid, {"office": "state_senate"}, actor="t")
    assert created and recruit.stage == "prospect"
    recruit, created = pipeline.save(session, cid, {"stage": "candidate", "owner": "amy",
                                                    "note": "Filed papers"}, actor="t")
    assert not created
    assert (recruit.stage, recruit.owner, recruit.target_office) == ("candidate", "amy",
                                                                     "state_senate")
    assert pipeline.history(session, cid)[0].note == "Filed papers"


def test_board_counts_orders_and_filters(session: Any) -> None:
    for first, last, stage, office, owner in [
        ("Zoe", "Young", "prospect", "school_board", "amy"),
        ("Al", "Baker", "prospect", "city_council", "bo"),
        ("Cy", "Adams", "prospect", "school_board", "amy"),
        ("Di", "Cole", "elected", "state_house", "amy"),
    ]:
        pipeline.add_to_pipeline(session, person(session, first, last), stage=stage,
                                 office=office, owner=owner, actor="t")
    gone = person(session, "Ed", "Gone")
    pipeline.add_to_pipeline(session, gone, actor="t")
    contacts.delete(session, gone, actor="t")
    columns = {c.stage: c for c in pipeline.board(session)}
    assert list(columns) == list(pipeline.STAGE_LABELS)
    assert columns["prospect"].count == 3
    assert [c.name for c in columns["prospect"].cards] == ["Cy Adams", "Al Baker", "Zoe Young"]
    assert columns["elected"].cards[0].office == "state_house"
    assert columns["declined"].count == 0 and columns["declined"].cards == []
    few = {c.stage: c for c in pipeline.board(session, per_stage=1)}
    assert few["prospect"].count == 3 and len(few["prospect"].cards) == 1
    school = {c.stage: c.count for c in pipeline.board(session, office="school_board")}
    assert school["prospect"] == 2 and school["elected"] == 0
    amy = {c.stage: c.count for c in pipeline.board(session, owner="amy")}
    assert (amy["prospect"], amy["elected"]) == (2, 1)
    assert pipeline.owners(session) == ["amy", "bo"]
    with pytest.raises(ValidationFailed):
        pipeline.board(session, office="mayor")
    assert sum(pipeline.stage_counts(session).values()) == 4


def test_funnel_counts_everyone_who_ever_reached_a_stage(session: Any) -> None:
    a, b, c, d = (person(session, name) for name in ("Ana", "Bo", "Cy", "Di"))
    for cid in (a, b, c):
        pipeline.add_to_pipeline(session, cid, actor="t")
    # Ana went all the way; Bo got to interested and then declined; Cy stayed a prospect;
    # Di entered as a candidate (the steps before count as passed).
    for stage in ("contacted", "interested", "in_training", "candidate", "elected"):
        pipeline.move(session, a, stage, actor="t")
    pipeline.move(session, b, "interested", actor="t")
    pipeline.move(session, b, "declined", actor="t")
    pipeline.add_to_pipeline(session, d, stage="candidate", actor="t")
    result = pipeline.funnel(session)
    counts = {s.stage: (s.count, s.percent) for s in result.steps}
    assert counts == {"prospect": (4, 100), "contacted": (3, 75), "interested": (3, 75),
                      "in_training": (2, 50), "candidate": (2, 50), "elected": (1, 25)}
    assert (result.declined.count, result.declined.percent) == (1, 25)
    assert "declined" not in counts
    assert pipeline.funnel(session, owner="nobody").steps[0].count == 0


# --- pages ------------------------------------------------------------------------------------


@pytest.fixture
def recruit_id(app: Flask) -> int:
    with app.app_context():
        cid = person(db.session, "Ana", "Lopez")
        pipeline.add_to_pipeline(db.session, cid, office="school_board",
                                 jurisdiction="Madison Metropolitan School District",
                                 owner="organizer@example.org", actor="seed")
        db.session.commit()
    return cid


def test_panel_shows_the_stage_and_forms_only_to_organizers(
        app: Flask, as_role: Callable[[str], FlaskClient], recruit_id: int) -> None:
    viewer = as_role("viewer").get(f"/crm/contacts/{recruit_id}").get_data(as_text=True)
    assert "Recruitment" in viewer and "School board" in viewer
    assert "Madison Metropolitan School District" in viewer
    assert "pipeline/move" not in viewer
    assert "Added to the pipeline as Prospect" in viewer
    organizer = as_role("organizer").get(f"/crm/contacts/{recruit_id}").get_data(as_text=True)
    assert "pipeline/move" in organizer and "Move to" in organizer
    with app.app_context():
        other = person(db.session, "Bo")
        db.session.commit()
    page = as_role("organizer").get(f"/crm/contacts/{other}").get_data(as_text=True)
    assert "Not in the recruitment pipeline" in page and "Add to pipeline" in page
    # The standalone app offers its staff accounts as owners.
    assert '<option value="viewer@example.org">' in page


def test_add_move_and_timeline_through_the_pages(
        app: Flask, as_role: Callable[[str], FlaskClient]) -> None:
    with app.app_context():
        cid = person(db.session, "Bo")
        db.session.commit()
    client = as_role("organizer")
    response = client.post(f"/crm/contacts/{cid}/pipeline",
                           data={"stage": "contacted", "office": "county_board",
                                 "jurisdiction": "Dane County", "owner": "admin@example.org"})
    assert response.status_code == 302
    client.post(f"/crm/contacts/{cid}/pipeline/move", data={"stage": "in_training",
                                                             "note": "Signed up for May"})
    page = client.get(f"/crm/contacts/{cid}").get_data(as_text=True)
    assert "Added to the pipeline as Contacted" in page
    assert "Moved from Contacted to In training" in page and "Signed up for May" in page
    bad = client.post(f"/crm/contacts/{cid}/pipeline", data={"stage": "prospect"},
                      follow_redirects=True)
    assert "already in the pipeline" in bad.get_data(as_text=True)
    nonsense = client.post(f"/crm/contacts/{cid}/pipeline/move", data={"stage": "mayor"},
                           follow_redirects=True)
    assert "Not a valid choice" in nonsense.get_data(as_text=True)


def test_board_shows_columns_cards_filters_and_the_funnel(
        app: Flask, as_role: Callable[[str], FlaskClient], recruit_id: int) -> None:
    with app.app_context():
        evil = person(db.session, "<script>alert(1)</script>", "Evil")
        pipeline.add_to_pipeline(db.session, evil, stage="declined", office="other",
                                 jurisdiction="<b>Town</b>", actor="t")
        db.session.commit()
    page = as_role("organizer").get("/crm/pipeline").get_data(as_text=True)
    for label in pipeline.STAGE_LABELS.values():
        assert label in page
    assert "Ana Lopez" in page and "Madison Metropolitan School District" in page
    assert "<script>alert" not in page and "&lt;b&gt;Town&lt;/b&gt;" in page
    assert 'src="/crm/pipeline/funnel.svg"' in page
    assert 'class="visually-hidden"' in page and "% of prospects" in page
    assert f'action="/crm/contacts/{recruit_id}/pipeline/move?back=board"' in page
    assert " style=" not in page and "<script>" not in page.split("</main>")[0]
    filtered = as_role("viewer").get("/crm/pipeline?office=city_council").get_data(as_text=True)
    assert "Ana Lopez" not in filtered and "pipeline/move" not in filtered
    assert 'funnel.svg?office=city_council' in filtered
    assert "Pipeline</a>" in filtered


def test_moving_from_the_board_returns_to_the_filtered_board(
        as_role: Callable[[str], FlaskClient], recruit_id: int) -> None:
    response = as_role("organizer").post(
        f"/crm/contacts/{recruit_id}/pipeline/move?back=board&office=school_board",
        data={"stage": "interested"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/crm/pipeline?office=school_board"


def test_the_funnel_is_an_escaped_svg_with_proportional_bars(
        app: Flask, as_role: Callable[[str], FlaskClient]) -> None:
    with app.app_context():
        ids = [person(db.session, name) for name in ("Ana", "Bo", "Cy", "Di")]
        for cid in ids:
            pipeline.add_to_pipeline(db.session, cid, actor="t")
        pipeline.move(db.session, ids[0], "contacted", actor="t")
        pipeline.move(db.session, ids[1], "declined", actor="t")
        db.session.commit()
    response = as_role("viewer").get("/crm/pipeline/funnel.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    root = ET.fromstring(response.data)
    assert root.tag == f"{SVG}svg" and root.find(f"{SVG}style") is None
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]
    assert len(widths) == 7  # six funnel steps and declined
    assert widths[0] == 360 and widths[1] == 90 and widths[-1] == 90 and widths[2] == 0
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "4 (100% of prospects)" in texts and "1 (25% of prospects)" in texts
    assert "Declined" in texts
    empty = as_role("viewer").get("/crm/pipeline/funnel.svg?owner=nobody")
    assert {r.get("width") for r in ET.fromstring(empty.data).iter(f"{SVG}rect")} == {"0.0"}


def test_edit_details_and_remove(as_role: Callable[[str], FlaskClient], app: Flask,
                                 recruit_id: int) -> None:
    client = as_role("organizer")
    form = client.get(f"/crm/contacts/{recruit_id}/pipeline/edit").get_data(as_text=True)
    assert '<option selected value="organizer@example.org">' in form
    response = client.post(f"/crm/contacts/{recruit_id}/pipeline/edit",
                           data={"office": "state_house", "jurisdiction": "Assembly 77",
                                 "owner": "admin@example.org"})
    assert response.status_code == 302
    bad = client.post(f"/crm/contacts/{recruit_id}/pipeline/edit",
                      data={"office": "mayor", "owner": "stranger@example.org"})
    assert bad.status_code == 422
    page = client.get(f"/crm/contacts/{recruit_id}").get_data(as_text=True)
    assert "Recruitment details edited" in page and "Assembly 77" in page
    assert client.post(f"/crm/contacts/{recruit_id}/pipeline/remove").status_code == 302
    page = client.get(f"/crm/contacts/{recruit_id}").get_data(as_text=True)
    assert "Removed from the pipeline" in page and "Not in the recruitment pipeline" in page
    assert client.get(f"/crm/contacts/{recruit_id}/pipeline/edit").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(StageChange).where(
            StageChange.contact_id == recruit_id)) is not None


def test_owner_is_free_text_without_builtin_accounts(app: Flask) -> None:
    with app.test_request_context():
        assert type(details_form(None)) is DetailsForm
        assert type(details_form(None).owner).__name__ == "StringField"
        staff = details_form([("amy@example.org", "Amy")], keep="gone@example.org")
        assert isinstance(staff, StaffDetailsForm)
        values = [c[0] for c in staff.owner.iter_choices()]
        assert values == ["", "amy@example.org", "gone@example.org"]


def test_moves_need_a_csrf_token(csrf_app: Flask) -> None:
    from crm import staff
    from tests.conftest import PASSWORD

    with csrf_app.app_context():
        staff.create_user(db.session, "org@example.org", PASSWORD, role="organizer")
        cid = person(db.session, "Ana")
        pipeline.add_to_pipeline(db.session, cid, actor="t")
        db.session.commit()
    client = csrf_app.test_client()
    token = csrf_from(client.get("/crm/login").data)
    client.post("/crm/login", data={"email": "org@example.org", "password": PASSWORD,
                                    "csrf_token": token})
    client.post(f"/crm/contacts/{cid}/pipeline/move", data={"stage": "elected"})
    with csrf_app.app_context():
        assert pipeline.get(db.session, cid).stage == "prospect"
    board = client.get("/crm/pipeline").data
    client.post(f"/crm/contacts/{cid}/pipeline/move?back=board",
                data={"stage": "elected", "csrf_token": csrf_from(board)})
    with csrf_app.app_context():
        assert pipeline.get(db.session, cid).stage == "elected"
