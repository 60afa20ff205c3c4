"""Two presses of one button at once: one wins, the other gets 409 with the state that won.

Each race is forced, not hoped for: both requests read the campaign, then wait for each
other at a barrier inside the service call, so both try to write from the same status.
Without the compare-and-set on the status, both would be accepted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crm.staff
from campaigns import composing, sending
from campaigns import jobs as campaign_jobs
from campaigns.campaign_models import Campaign
from campaigns.mailchimp import Gateway
from campaigns.sandbox import SandboxServer
from crm import jobs as crm_jobs
from crm.models import Job
from tests import campaign_support
from tests.conftest import PASSWORD
from tests.test_campaign_web import Recorder, fields
from wsgi import db

API = "/crm/api/v1/campaigns"
WAIT = 10.0


@pytest.fixture
def tokens(app: Flask, staff_users: dict[str, str]) -> dict[str, str]:
    """Bearer tokens for the author and two other organizers."""
    made = {}
    with app.app_context():
        for email in ("second@example.org", "third@example.org"):
            crm.staff.create_user(db.session, email, PASSWORD, role="organizer")
        for key, email in (("author", staff_users["organizer"]), ("second", "second@example.org"),
                           ("third", "third@example.org")):
            user = crm.staff.find_user(db.session, email)
            assert user is not None
            made[key] = crm.staff.issue_token(db.session, user.get_id())[1]
        db.session.commit()
    return made


@pytest.fixture
def runner(app: Flask) -> Recorder:
    """Jobs are recorded, not run: the test counts them."""
    recorder = Recorder()
    app.extensions["crm"].job_runner = recorder
    return recorder


@pytest.fixture
def world(app: Flask, tokens: dict[str, str], runner: Recorder) -> campaign_support.World:
    with app.app_context():
        found = campaign_support.seed(db.session)
        db.session.remove()
    return found


def call(app: Flask, token: str, method: str, path: str, **kwargs: Any) -> Any:
    """Call the API with a client of its own (each thread has one)."""
    client: FlaskClient = app.test_client()
    return client.open(f"{API}{path}", method=method.upper(),
                       headers={"Authorization": f"Bearer {token}"}, **kwargs)


def ready_campaign(app: Flask, tokens: dict[str, str], world: campaign_support.World,
                   **fields: Any) -> int:
    fields.setdefault("require_approval", False)
    made = call(app, tokens["author"], "post", "", json={
        "kind": "chip_in", "name": "Race appeal", "segment_id": world.segment_id, **fields})
    assert made.status_code == 201, made.json
    ready = call(app, tokens["author"], "post", f"/{made.json['id']}/ready")
    assert ready.status_code == 200, ready.json
    return int(made.json["id"])


@pytest.fixture
def at_once(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make two callers of ``sending.<name>`` (of one or two names) both arrive before
    either goes on."""

    def hold(*names: str) -> None:
        barrier = threading.Barrier(2, timeout=WAIT)
        for name in names:
            real = getattr(sending, name)

            def held(*args: Any, _real: Callable[..., Any] = real, **kwargs: Any) -> Any:
                barrier.wait()
                return _real(*args, **kwargs)

            monkeypatch.setattr(sending, name, held)

    return hold


def race(*presses: Callable[[], Any]) -> list[Any]:
    """Run the presses in threads at once; return their responses in order."""
    answers: list[Any] = [None] * len(presses)

    def press(i: int) -> None:
        answers[i] = presses[i]()

    threads = [threading.Thread(target=press, args=(i,)) for i in range(len(presses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert all(answer is not None for answer in answers), "a press never answered"
    return answers


def status_of(app: Flask, campaign_id: int) -> str:
    with app.app_context():
        return db.session.get(Campaign, campaign_id).status  # type: ignore[union-attr]


def test_two_send_presses_start_one_send(app: Flask, tokens: dict[str, str],
                                         world: campaign_support.World, runner: Recorder,
                                         at_once: Callable[..., None]) -> None:
    cid = ready_campaign(app, tokens, world)
    at_once("request_send")
    answers = race(lambda: call(app, tokens["author"], "post", f"/{cid}/send"),
                   lambda: call(app, tokens["second"], "post", f"/{cid}/send"))
    assert sorted(a.status_code for a in answers) == [202, 409]
    [lost] = [a for a in answers if a.status_code == 409]
    assert lost.json["detail"] == ("Someone else changed this campaign first: it is sending "
                                   "now.")
    assert status_of(app, cid) == "sending"
    assert len(runner.ids) == 1  # one job, for the press that won
    with app.app_context():
        jobs = db.session.scalars(select(Job)).all()
        assert [job.id for job in jobs] == runner.ids
        assert db.session.get(Campaign, cid).job_id == runner.ids[0]  # type: ignore[union-attr]


def test_two_approvals_at_once_one_is_recorded(app: Flask, tokens: dict[str, str],
                                               world: campaign_support.World,
                                               at_once: Callable[..., None]) -> None:
    cid = ready_campaign(app, tokens, world, require_approval=True)
    at_once("approve")
    answers = race(lambda: call(app, tokens["second"], "post", f"/{cid}/approve"),
                   lambda: call(app, tokens["third"], "post", f"/{cid}/approve"))
    assert sorted(a.status_code for a in answers) == [200, 409]
    [won] = [a for a in answers if a.status_code == 200]
    [lost] = [a for a in answers if a.status_code == 409]
    assert "it is approved now" in lost.json["detail"]
    with app.app_context():
        campaign = db.session.get(Campaign, cid)
        assert campaign is not None and campaign.status == "approved"
        assert campaign.approved_by == won.json["approved_by"]


def test_cancel_and_send_at_once_one_wins_and_the_other_is_told(
        app: Flask, tokens: dict[str, str], world: campaign_support.World,
        runner: Recorder, at_once: Callable[..., None]) -> None:
    cid = ready_campaign(app, tokens, world)
    at_once("request_send", "cancel")
    answers = race(lambda: call(app, tokens["author"], "post", f"/{cid}/send"),
                   lambda: call(app, tokens["second"], "post", f"/{cid}/cancel"))
    codes = [a.status_code for a in answers]
    assert sorted(codes) in ([200, 409], [202, 409])
    final = status_of(app, cid)
    if codes[0] == 202:  # the send won: it is sending, one job, and cancel was refused
        assert final == "sending" and len(runner.ids) == 1
        assert "it is sending now" in answers[1].json["detail"]
    else:  # the cancel won: nothing was queued
        assert final == "cancelled" and runner.ids == []
        assert "it is cancelled now" in answers[0].json["detail"]


def test_two_cancels_at_once(app: Flask, tokens: dict[str, str],
                             world: campaign_support.World,
                             at_once: Callable[..., None]) -> None:
    cid = ready_campaign(app, tokens, world)
    at_once("cancel")
    answers = race(lambda: call(app, tokens["author"], "post", f"/{cid}/cancel"),
                   lambda: call(app, tokens["second"], "post", f"/{cid}/cancel"))
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert status_of(app, cid) == "cancelled"


@pytest.fixture
def two_sessions(app: Flask) -> Iterator[tuple[Session, Session]]:
    with app.app_context():
        first, second = Session(db.engine), Session(db.engine)
        try:
            yield first, second
        finally:
            first.close()
            second.close()


def test_a_move_from_a_status_that_is_gone_is_refused_and_rolled_back(
        app: Flask, world: campaign_support.World,
        two_sessions: tuple[Session, Session]) -> None:
    with app.app_context():
        cid = campaign_support.new_campaign(db.session, app, world).id
        db.session.remove()
    first, second = two_sessions
    mine, theirs = first.get(Campaign, cid), second.get(Campaign, cid)
    assert mine is not None and theirs is not None
    sending.cancel(theirs)
    second.commit()
    assert mine.status == "draft"  # what this session read before
    with pytest.raises(sending.IllegalMove, match="it is cancelled now"):
        sending.cancel(mine)
    assert mine.status == "cancelled" and mine.cancelled_at is not None


class CommittingReporter:
    """Reports commit, as the job runner's do."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.summary: str | None = None

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        self.session.commit()

    def should_stop(self) -> bool:
        return False


def test_a_cancel_while_the_send_job_prepares_stops_it_before_anything_is_sent(
        mc_app: Flask, sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with mc_app.app_context():
        session = db.session
        found = campaign_support.seed(session)
        campaign = campaign_support.new_campaign(session, mc_app, found, require_approval=False)
        campaign_support.make_ready(session, mc_app, campaign)
        campaign_support.approve_and_request(session, campaign)
        job = crm_jobs.create(session, campaign_jobs.SEND, {"campaign_id": campaign.id},
                              started_by="test")
        session.commit()
        cid = campaign.id
        real = Gateway.create_static_segment

        def cancel_meanwhile(self: Gateway, *args: Any, **kwargs: Any) -> Any:
            # Staff cancel while the job waits on Mailchimp, after its last status check.
            with Session(db.engine) as staff:
                sending.cancel(staff.get(Campaign, cid))  # type: ignore[arg-type]
                staff.commit()
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Gateway, "create_static_segment", cancel_meanwhile)
        reporter = CommittingReporter(session)
        result = campaign_jobs.run_send(session, job, reporter)
        assert result == {"campaign_id": cid, "stopped": True}
        assert reporter.summary == ("Cancelled while it was being prepared: nothing more went "
                                    "to Mailchimp.")
        session.expire_all()
        stored = session.get(Campaign, cid)
        assert stored is not None
        assert (stored.status, stored.send_called_at, stored.mc_campaign_id) == (
            "cancelled", None, None)
    assert sandbox.state.campaigns == {}
    assert list(sandbox.state.inbox) == []


@pytest.fixture
def cancelled_meanwhile(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another organizer cancels the draft between this request's read and its write."""
    real = composing.update

    def update(session: Session, campaign_id: int, *args: Any, **kwargs: Any) -> Any:
        # This request has read the draft (held, so the session keeps it as read).
        mine = session.get(Campaign, campaign_id)
        assert mine is not None and mine.status == "draft"
        with Session(db.engine) as other:
            sending.cancel(other.get(Campaign, campaign_id))  # type: ignore[arg-type]
            other.commit()
        return real(session, campaign_id, *args, **kwargs)

    monkeypatch.setattr(composing, "update", update)


def test_saving_a_draft_someone_cancelled_meanwhile_is_a_409_and_saves_nothing(
        app: Flask, tokens: dict[str, str], world: campaign_support.World,
        cancelled_meanwhile: None) -> None:
    made = call(app, tokens["author"], "post", "", json={
        "kind": "chip_in", "name": "Race appeal", "segment_id": world.segment_id})
    cid = made.json["id"]
    answer = call(app, tokens["second"], "patch", f"/{cid}", json={"name": "Renamed"})
    assert answer.status_code == 409
    assert answer.json["detail"] == ("Someone else changed this at the same moment: reload it "
                                     "and try again.")
    with app.app_context():
        stored = db.session.get(Campaign, cid)
        assert stored is not None and (stored.status, stored.name) == ("cancelled",
                                                                       "Race appeal")


def test_the_composer_says_so_when_someone_changed_the_campaign_meanwhile(
        app: Flask, as_role: Callable[[str], FlaskClient], world: campaign_support.World,
        cancelled_meanwhile: None) -> None:
    with app.app_context():
        cid = campaign_support.new_campaign(db.session, app, world).id
        db.session.remove()
    client = as_role("organizer")
    form = fields(app, cid, name="Renamed")
    saved = client.post(f"/crm/campaigns/{cid}", data=form)
    assert saved.status_code == 302
    assert saved.headers["Location"].endswith(f"/crm/campaigns/{cid}")
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Someone else changed this campaign at the same moment" in page
    assert status_of(app, cid) == "cancelled"
    with app.app_context():
        assert db.session.get(Campaign, cid).name == "Test chip_in"  # type: ignore[union-attr]
