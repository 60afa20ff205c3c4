"""Run-for-office responses, the service: links, clicks, answers, nominations, what staff read."""

from __future__ import annotations

import ast
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaigns import responses, tokens
from campaigns.campaign_models import Campaign, Recipient, Response
from campaigns.response_timeline import timeline_entries
from crm import consent, contacts, pipeline
from crm.errors import ValidationFailed
from crm.models import Contact, StageChange, utcnow

SECRET = "test-secret"
DAYS = 60


def ask(session: Session, *, kind: str = "run_for_office", status: str = "sent",
        name: str = "Run with us") -> Campaign:
    campaign = Campaign(kind=kind, name=name, status=status, created_by="t",
                        reply_to="office@testorg.org")
    session.add(campaign)
    session.flush()
    return campaign


def person(session: Session, email: str, **fields: Any) -> Contact:
    return contacts.create(session, {"email": email, **fields}, actor="t")


def recipient_of(session: Session, campaign: Campaign, contact: Contact) -> Recipient:
    recipient = Recipient(campaign_id=campaign.id, contact_id=contact.id, email=contact.email,
                          nonce=tokens.new_nonce())
    session.add(recipient)
    session.flush()
    return recipient


def link(recipient: Recipient) -> str:
    return tokens.sign(SECRET, recipient.id, recipient.nonce)


def old_link(recipient: Recipient, days: int) -> str:
    """Sign a token as if it had been made ``days`` ago (its signed timestamp is that old)."""

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 86400

    serializer = URLSafeTimedSerializer(SECRET, salt=tokens.SALT, signer=Earlier)
    return str(serializer.dumps([recipient.id, recipient.nonce]))


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    campaign = ask(session)
    ana = person(session, "ana@example.org", first_name="Ana", last_name="Ruiz")
    return {"campaign": campaign, "ana": ana, "recipient": recipient_of(session, campaign, ana)}


def kinds(session: Session) -> list[str]:
    return list(session.scalars(select(Response.kind).order_by(Response.id)))


# --- links -------------------------------------------------------------------------------------


def test_a_good_link_names_its_recipient(session: Session, world: dict[str, Any]) -> None:
    found = responses.recipient_for(session, SECRET, link(world["recipient"]), max_age_days=DAYS)
    assert found.id == world["recipient"].id
    # Six days old is fine for a 60-day link, and a scheduled ask is answerable already.
    world["campaign"].status = "scheduled"
    found = responses.recipient_for(session, SECRET, old_link(world["recipient"], 6),
                                    max_age_days=DAYS)
    assert found.id == world["recipient"].id


def test_bad_links_are_refused_with_their_reason(session: Session, world: dict[str, Any]) -> None:
    recipient = world["recipient"]
    good = link(recipient)
    tampered = ("A" if good[0] != "A" else "B") + good[1:]

    def reason(token: str, secret: str = SECRET) -> tuple[str, int]:
        with pytest.raises(responses.LinkRefused) as caught:
            responses.recipient_for(session, secret, token, max_age_days=DAYS)
        return caught.value.reason, caught.value.status_code

    assert reason(tampered) == ("forged", 404)
    assert reason(good, secret="another-secret") == ("forged", 404)
    assert reason("not-a-token") == ("forged", 404)
    assert reason(old_link(recipient, DAYS + 1)) == ("expired", 410)
    assert reason(tokens.sign(SECRET, recipient.id, "other-nonce")) == ("unknown", 404)
    assert reason(tokens.sign(SECRET, recipient.id + 99, recipient.nonce)) == ("unknown", 404)
    # The audience was taken again: the row's nonce changed, so the old link is dead.
    recipient.nonce = tokens.new_nonce()
    assert reason(good) == ("unknown", 404)
    blank = recipient_of(session, world["campaign"], world["ana"])
    blank.nonce = ""
    assert reason(tokens.sign(SECRET, blank.id, "")) == ("unknown", 404)


@pytest.mark.parametrize(("kind", "status"), [("chip_in", "sent"), ("general", "sent"),
                                              ("run_for_office", "draft")])
def test_links_of_other_asks_and_drafts_are_unknown(session: Session, kind: str,
                                                    status: str) -> None:
    campaign = ask(session, kind=kind, status=status)
    recipient = recipient_of(session, campaign, person(session, "bo@example.org"))
    with pytest.raises(responses.LinkRefused, match="unknown"):
        responses.recipient_for(session, SECRET, link(recipient), max_age_days=DAYS)


# --- clicks ------------------------------------------------------------------------------------


def test_a_click_counts_once(session: Session, world: dict[str, Any]) -> None:
    recipient = world["recipient"]
    assert responses.record_click(session, recipient) is True
    first = recipient.clicked_at
    assert first is not None
    assert [responses.record_click(session, recipient) for _ in range(3)] == [False] * 3
    session.refresh(recipient)
    assert recipient.clicked_at == first
    assert kinds(session) == ["clicked"]
    assert recipient.answer is None and pipeline.find(session, world["ana"].id) is None


# --- yes and not now ---------------------------------------------------------------------------


def test_yes_adds_a_stranger_to_the_pipeline_as_interested(session: Session,
                                                           world: dict[str, Any]) -> None:
    outcome = responses.answer(session, world["recipient"], "interested")
    assert (outcome.recorded, outcome.answer, outcome.stage) == (True, "interested", "interested")
    assert world["recipient"].answer == "interested" and world["recipient"].answered_at
    assert world["recipient"].clicked_at is not None  # answering implies opening the link
    assert kinds(session) == ["clicked", "interested"]
    change = session.scalars(select(StageChange)).one()
    assert (change.from_stage, change.to_stage) == (None, "interested")
    assert change.actor == "Run-for-office ask: Run with us"


@pytest.mark.parametrize(("before", "after"), [
    ("prospect", "interested"), ("contacted", "interested"), ("declined", "interested"),
    ("interested", "interested"), ("in_training", "in_training"), ("candidate", "candidate"),
    ("elected", "elected"),
])
def test_yes_moves_a_recruit_forward_never_back(session: Session, world: dict[str, Any],
                                                before: str, after: str) -> None:
    pipeline.add_to_pipeline(session, world["ana"].id, stage=before, actor="t")
    outcome = responses.answer(session, world["recipient"], "interested")
    assert outcome.stage == after
    assert pipeline.get(session, world["ana"].id).stage == after
    assert outcome.recorded and world["recipient"].answer == "interested"


@pytest.mark.parametrize(("before", "after"), [
    (None, None), ("prospect", "declined"), ("contacted", "declined"),
    ("interested", "declined"), ("in_training", "in_training"), ("candidate", "candidate"),
    ("elected", "elected"),
])
def test_not_now_closes_open_recruitment_only(session: Session, world: dict[str, Any],
                                              before: str | None, after: str | None) -> None:
    if before:
        pipeline.add_to_pipeline(session, world["ana"].id, stage=before, actor="t")
    outcome = responses.answer(session, world["recipient"], "declined")
    assert outcome.recorded and outcome.stage == after
    recruit = pipeline.find(session, world["ana"].id)
    assert (recruit.stage if recruit else None) == after
    assert kinds(session) == ["clicked", "declined"]


def test_the_first_answer_stands(session: Session, world: dict[str, Any]) -> None:
    recipient = world["recipient"]
    responses.answer(session, recipient, "declined")
    answered_at = recipient.answered_at
    for choice in ("interested", "declined"):
        outcome = responses.answer(session, recipient, choice)
        assert (outcome.recorded, outcome.answer) == (False, "declined")
        assert outcome.answered_at == answered_at
    assert kinds(session) == ["clicked", "declined"]
    assert pipeline.find(session, world["ana"].id) is None
    with pytest.raises(ValidationFailed, match="choice"):
        responses.answer(session, recipient, "maybe")


def test_a_deleted_contacts_answer_is_kept_but_the_pipeline_is_left_alone(
        session: Session, world: dict[str, Any]) -> None:
    contacts.delete(session, world["ana"].id, actor="t")
    outcome = responses.answer(session, world["recipient"], "interested")
    assert outcome.recorded and outcome.stage is None
    assert pipeline.find(session, world["ana"].id) is None
    assert kinds(session) == ["clicked", "interested"]


def test_a_merged_contacts_answer_goes_to_the_survivor(session: Session,
                                                       world: dict[str, Any]) -> None:
    survivor = person(session, "ana.ruiz@example.org", first_name="Ana")
    world["ana"].merged_into_id = survivor.id
    world["ana"].deleted_at = utcnow()
    outcome = responses.answer(session, world["recipient"], "interested")
    assert outcome.stage == "interested"
    assert pipeline.get(session, survivor.id).stage == "interested"
    assert set(session.scalars(select(Response.contact_id))) == {survivor.id}


# --- nominations -------------------------------------------------------------------------------

JANE = {"name": "Jane Q. Doe", "email": " Jane.Doe@Example.org ", "phone": "(608) 555-0134",
        "office": "school_board", "why": "She runs the PTA."}


def test_a_nomination_adds_a_never_subscribed_prospect(session: Session,
                                                       world: dict[str, Any]) -> None:
    outcome = responses.answer(session, world["recipient"], "nominated", nomination=JANE)
    jane = contacts.find_by_email(session, "jane.doe@example.org")
    assert jane is not None and outcome.nominee_id == jane.id
    assert (jane.first_name, jane.last_name, jane.phone) == ("Jane Q.", "Doe", "+16085550134")
    assert jane.email_status == "transactional"
    event = consent.history(session, jane.id)[0]
    assert event.status == "transactional" and "never opted in" in (event.note or "")
    assert "Ana Ruiz" in (event.note or "")
    recruit = pipeline.get(session, jane.id)
    assert (recruit.stage, recruit.target_office, recruit.nominated_by_id) == (
        "prospect", "school_board", world["ana"].id)
    nominated = session.scalars(select(Response).where(Response.kind == "nominated")).one()
    assert nominated.contact_id == world["ana"].id and nominated.nominee_id == jane.id
    assert nominated.detail == {"name": "Jane Q. Doe", "email": "Jane.Doe@example.org",
                                "phone": "+16085550134", "office": "school_board",
                                "why": "She runs the PTA.", "new_contact": True}
    # Nominating is not an answer for oneself: Ana may still say yes.
    assert world["recipient"].answer == "nominated"
    assert responses.answer(session, world["recipient"], "interested").recorded
    assert world["recipient"].answer == "interested"
    assert pipeline.get(session, world["ana"].id).stage == "interested"


def test_nominating_a_known_contact_keeps_their_status_and_stage(
        session: Session, world: dict[str, Any]) -> None:
    gone = person(session, "gone@example.org", first_name="Gil", email_status="unsubscribed")
    pipeline.add_to_pipeline(session, gone.id, stage="contacted", actor="t")
    other = person(session, "other@example.org")
    kept = person(session, "kept@example.org")
    pipeline.add_to_pipeline(session, kept.id, actor="t")
    pipeline.find(session, kept.id).nominated_by_id = other.id  # type: ignore[union-attr]
    for email in ("GONE@example.org", "kept@example.org"):
        outcome = responses.answer(session, world["recipient"], "nominated",
                                   nomination={"name": "Someone", "email": email})
        assert outcome.recorded
    session.refresh(gone)
    assert gone.email_status == "unsubscribed" and gone.first_name == "Gil"
    assert (pipeline.get(session, gone.id).stage,
            pipeline.get(session, gone.id).nominated_by_id) == ("contacted", world["ana"].id)
    assert pipeline.get(session, kept.id).nominated_by_id == other.id  # the first nominator
    assert session.scalar(select(func.count()).select_from(Contact)) == 4
    assert kinds(session) == ["clicked", "nominated", "nominated"]


def test_bad_nominations_name_each_field_and_change_nothing(session: Session,
                                                           world: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        responses.answer(session, world["recipient"], "nominated", nomination={
            "name": "  ", "email": "not-an-email", "phone": "12", "office": "mayor",
            "why": "x" * 1001, "age": "40"})
    assert set(caught.value.errors) == {"name", "email", "phone", "office", "why", "age"}
    with pytest.raises(ValidationFailed) as caught:
        responses.answer(session, world["recipient"], "nominated", nomination={"name": "Jo"})
    assert set(caught.value.errors) == {"email"}
    assert session.scalar(select(func.count()).select_from(Contact)) == 1
    assert kinds(session) == []


def test_nominating_a_deleted_contact_records_it_without_bringing_them_back(
        session: Session, world: dict[str, Any]) -> None:
    gone = person(session, "gone@example.org")
    contacts.delete(session, gone.id, actor="t")
    outcome = responses.answer(session, world["recipient"], "nominated",
                               nomination={"name": "Gone", "email": "gone@example.org"})
    assert (outcome.nominee_id, outcome.stage) == (gone.id, None)
    assert gone.deleted_at is not None and pipeline.find(session, gone.id) is None
    assert kinds(session) == ["clicked", "nominated"]


def test_one_cannot_nominate_oneself(session: Session, world: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed, match="email"):
        responses.answer(session, world["recipient"], "nominated",
                         nomination={"name": "Ana", "email": "ANA@example.org"})


# --- what staff read ---------------------------------------------------------------------------


def test_recent_counts_and_new(session: Session, world: dict[str, Any]) -> None:
    other = ask(session, name="Second ask")
    bo = person(session, "bo@example.org", first_name="Bo")
    responses.answer(session, world["recipient"], "nominated", nomination=JANE)
    responses.answer(session, recipient_of(session, other, bo), "declined")
    old = Response(campaign_id=other.id, contact_id=bo.id, kind="interested",
                   created_at=utcnow() - timedelta(days=30))
    session.add(old)
    session.flush()
    rows = responses.recent(session)
    assert [r.response.kind for r in rows] == ["interested", "declined", "clicked",
                                                "nominated", "clicked"]
    assert rows[1].campaign_name == "Second ask" and rows[1].contact is not None
    nominated = rows[3]
    assert nominated.nominee is not None and nominated.nominee.email == "Jane.Doe@example.org"
    assert [r.response.kind for r in responses.recent(session, kind="clicked")] == ["clicked"] * 2
    assert len(responses.recent(session, campaign_id=world["campaign"].id)) == 2
    assert len(responses.recent(session, since=utcnow() - timedelta(days=7))) == 4
    assert [r.response.id for r in responses.recent(session, limit=2, before_id=rows[1].response.id)
            ] == [rows[2].response.id, rows[3].response.id]
    assert responses.counts_for_campaign(session, world["campaign"].id) == {
        "clicked": 1, "interested": 0, "declined": 0, "nominated": 1}
    assert responses.counts(session)["interested"] == 1
    assert responses.new_count(session, utcnow() - timedelta(days=7)) == 2  # clicks left out
    summaries = responses.campaign_summaries(session)
    assert [(c.name, n["declined"]) for c, n in summaries] == [("Second ask", 1),
                                                              ("Run with us", 0)]


def test_timeline_entries_for_nominator_and_nominee(session: Session,
                                                    world: dict[str, Any]) -> None:
    responses.answer(session, world["recipient"], "nominated", nomination=JANE)
    responses.answer(session, world["recipient"], "interested")
    titles = sorted(e.title for e in timeline_entries(session, world["ana"].id))
    assert titles == ["Nominated Jane Q. Doe (Run with us)",
                      "Opened the run-for-office link (Run with us)",
                      "Said yes to running (Run with us)"]
    jane = contacts.find_by_email(session, "jane.doe@example.org")
    assert jane is not None
    [entry] = timeline_entries(session, jane.id)
    assert entry.title == "Was nominated by Ana Ruiz (Run with us)"
    assert "She runs the PTA." in entry.body and "School board" in entry.body


def test_services_never_import_flask_nor_commit() -> None:
    package = Path(__file__).parent.parent / "campaigns"
    for name in ("responses.py", "response_timeline.py", "tokens.py"):
        source = (package / name).read_text()
        assert ".commit(" not in source, name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("flask") for a in node.names), name
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("flask"), name
