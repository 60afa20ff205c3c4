"""Contract tests: every Gateway call, through the real SDK, against Mailchimp's published API.

``prism mock`` answers from Mailchimp's published OpenAPI description and rejects (422, with
an ``sl-violations`` header) any request that breaks it, so a call that succeeds here has
the shape Mailchimp documents; the gateway must also read Prism's generated answers.
``prism proxy`` in front of the sandbox (campaigns/sandbox) checks the sandbox's answers
against the same description. See tests/contract_prism.py for the spec and the tools, which
come from npm on the first run (20 to 50 s); without Node.js and npm these tests skip.

Every public Gateway method needs an entry in ``CONTRACT_CASES``: a test fails otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from campaigns.cli import EVENTS, SOURCES
from campaigns.mailchimp import Gateway, MailchimpConfig
from campaigns.mailchimp_errors import MailchimpError
from campaigns.mailchimp_types import (
    Audience,
    BatchResult,
    CampaignInfo,
    Member,
    MemberError,
    MergeField,
    SegmentChange,
    StaticSegment,
    Webhook,
)
from campaigns.members import CAMPAIGN_FIELDS, MEMBER_FIELDS, ContactRow, merge_values, payload
from campaigns.sandbox import SandboxServer, SandboxState, serve
from campaigns.throttle import RetryPolicy
from tests import contract_prism as contract

API_KEY = "0123456789abcdef0123456789abcdef-us1"
MOCK_AUDIENCE = "a1b2c3d4e5"  # Prism keeps no state: any id is as good as another

# Contacts as the CRM holds them (phones in E.164), turned into payloads by the app's code.
ANN = ContactRow(id=1, email="Ann.Lee@example.org", email_status="subscribed", first_name="Ann",
                 last_name="Lee", phone="+12175550101", street="12 Union Ave",
                 city="Springfield", state="IL", zip="62701")
BO = ContactRow(id=2, email="bo.diaz@example.org", email_status="subscribed", first_name="Bo",
                last_name="Díaz", phone="+12175550102")
CY = ContactRow(id=3, email="cy.park@example.org", email_status="pending", first_name="Cy")
DEE = ContactRow(id=4, email="dee.okafor@example.org", email_status="subscribed",
                 first_name="Dee", last_name="Okafor", street="400 Mill Rd", city="Peoria",
                 state="IL", zip="61602")
DEE_NEW_EMAIL = "dee@okafor.example.net"
WEBHOOK_URL = "https://crm.example.org/crm/hooks/mailchimp/3f9c2a7e51d04b8c"
MOST_REQUESTS_PER_CALL = 20  # paging must stop: Prism's answers say total_items 0
CAMPAIGN_TITLE = "Rally for the contract, 2026-12"
CAMPAIGN_HTML = ("<p>Dear *|FNAME|*,</p><p>Join us at the hall.</p>"
                 "<p><a href=\"*|UNSUB|*\">Unsubscribe</a> *|LIST:ADDRESS|*</p>")
CAMPAIGN_TEXT = "Dear *|FNAME|*,\n\nJoin us at the hall.\n\nUnsubscribe: *|UNSUB|*"
ORGANIZER = "organizer@example.org"


# -- the cases --------------------------------------------------------------------------

@dataclass
class Run:
    """What one run of the cases shares: against which server, and what earlier cases made."""

    stateful: bool  # True against the sandbox: answers reflect earlier calls
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    segment_id: int = 8801  # any id for Prism; the sandbox's comes from create_static_segment
    campaign_id: str = "42a7c0ffee"  # likewise; the sandbox's comes from create_campaign


def _emails(*rows: ContactRow) -> set[str]:
    return {r.email.lower() for r in rows}


def case_ping(gw: Gateway, run: Run) -> None:
    assert gw.ping()  # "Everything's Chimpy!"


def case_audience(gw: Gateway, run: Run) -> None:
    audience = gw.audience()
    assert isinstance(audience, Audience)
    assert isinstance(audience.member_count, int)
    if run.stateful:
        assert audience.id == gw.config.audience_id


def case_create_merge_field(gw: Gateway, run: Run) -> None:
    # As campaigns/merge_setup.py does: create the fields the audience lacks.
    wanted = [MEMBER_FIELDS[2], MEMBER_FIELDS[3], CAMPAIGN_FIELDS[3]]  # phone, address, url
    if run.stateful:
        have = {f.tag for f in gw.merge_fields()}
        wanted = [f for f in MEMBER_FIELDS + CAMPAIGN_FIELDS[3:4] if f[0] not in have]
        assert wanted, "the sandbox audience already has every field this case creates"
    for tag, name, kind in wanted:
        made = gw.create_merge_field(tag, name, kind)
        assert isinstance(made, MergeField)
        assert isinstance(made.merge_id, int)
        if run.stateful:
            assert (made.tag, made.name, made.type) == (tag, name, kind)


def case_merge_fields(gw: Gateway, run: Run) -> None:
    fields = gw.merge_fields()
    assert fields and all(isinstance(f, MergeField) for f in fields)
    if run.stateful:
        tags = {f.tag for f in fields}
        assert {t for t, _, _ in MEMBER_FIELDS} | {"DONATEURL"} <= tags


def case_batch_upsert(gw: Gateway, run: Run) -> None:
    members = [payload(ANN, "subscribed"), payload(BO, "subscribed"), payload(CY, "pending")]
    assert members[0]["merge_fields"]["ADDRESS"]["addr1"] == ANN.street  # a full address goes
    result = gw.batch_upsert(members)
    assert isinstance(result, BatchResult)
    assert all(isinstance(e, str) for e in result.new + result.updated)
    assert all(isinstance(e, MemberError) for e in result.errors)
    if run.stateful:
        assert result.errors == []
        assert {e.lower() for e in result.new} == _emails(ANN, BO, CY)


def case_upsert_member(gw: Gateway, run: Run) -> None:
    added = gw.upsert_member(DEE.email, status_if_new="subscribed",
                             merge_fields=merge_values(DEE))
    # A changed address: the member is found by the old one (campaigns/sync_push.py).
    moved = gw.upsert_member(DEE_NEW_EMAIL, status_if_new="subscribed", status="subscribed",
                             merge_fields=merge_values(DEE), previous_email=DEE.email)
    # An opt-out made in the CRM reaches Mailchimp the same way.
    left = gw.upsert_member(BO.email, status_if_new="unsubscribed", status="unsubscribed")
    assert all(isinstance(m, Member) for m in (added, moved, left))
    if run.stateful:
        assert (added.email, added.status) == (DEE.email, "subscribed")
        assert added.merge_fields["ADDRESS"]["city"] == "Peoria"
        assert moved.email == DEE_NEW_EMAIL
        assert left.status == "unsubscribed"


def case_member(gw: Gateway, run: Run) -> None:
    found = gw.member(ANN.email)
    assert isinstance(found, Member)
    if run.stateful:
        assert found.email.lower() == ANN.email.lower()
        assert (found.status, found.merge_fields["FNAME"]) == ("subscribed", "Ann")
        assert gw.member("nobody@example.org") is None  # Mailchimp's 404, checked too


def case_set_tags(gw: Gateway, run: Run) -> None:
    assert gw.set_tags(ANN.email, ["Volunteer", "Local 12"], ["Donor"]) is None
    if run.stateful:
        tagged = gw.member(ANN.email)
        assert tagged is not None
        assert {"Volunteer", "Local 12"} <= set(tagged.tags)
        assert "Donor" not in tagged.tags


def case_members_changed(gw: Gateway, run: Run) -> None:
    since = run.started - timedelta(minutes=5)
    changed = list(itertools.islice(gw.members_changed(status="unsubscribed", since=since), 50))
    everyone = list(itertools.islice(gw.members_changed(status="subscribed", since=None), 50))
    assert all(isinstance(m, Member) for m in changed + everyone)
    if run.stateful:
        assert [m.email for m in changed] == [BO.email]
        assert _emails(ANN) <= {m.email.lower() for m in everyone}
        assert BO.email not in {m.email for m in everyone}


def case_create_static_segment(gw: Gateway, run: Run) -> None:
    filled = gw.create_static_segment("Phone bank volunteers", [ANN.email, BO.email])
    empty = gw.create_static_segment("Canvassers")  # how merge_setup.py makes them
    assert isinstance(filled, StaticSegment) and isinstance(empty, StaticSegment)
    if run.stateful:
        assert (filled.name, filled.member_count) == ("Phone bank volunteers", 2)
        assert (empty.name, empty.member_count) == ("Canvassers", 0)
        assert filled.id != empty.id
        run.segment_id = filled.id


def case_change_static_segment(gw: Gateway, run: Run) -> None:
    change = gw.change_static_segment(run.segment_id, [CY.email], [BO.email])
    assert isinstance(change, SegmentChange)
    assert all(isinstance(e, str) for e in change.errors)
    if run.stateful:
        assert (change.added, change.removed, change.errors) == (1, 1, [])


def case_static_segments(gw: Gateway, run: Run) -> None:
    segments = gw.static_segments()
    assert segments and all(isinstance(s, StaticSegment) for s in segments)
    if run.stateful:
        by_name = {s.name: s for s in segments}
        assert by_name["Phone bank volunteers"].member_count == 2
        assert "Canvassers" in by_name


def case_add_webhook(gw: Gateway, run: Run) -> None:
    hook = gw.add_webhook(WEBHOOK_URL, EVENTS, SOURCES)  # as campaigns/cli.py does
    assert isinstance(hook, Webhook)
    if run.stateful:
        assert hook.url == WEBHOOK_URL
        assert set(hook.events) == set(EVENTS) and set(hook.sources) == set(SOURCES)


def case_webhooks(gw: Gateway, run: Run) -> None:
    hooks = gw.webhooks()
    assert all(isinstance(h, Webhook) for h in hooks)
    if run.stateful:
        assert [h.url for h in hooks] == [WEBHOOK_URL]


def _campaign(gw: Gateway, run: Run) -> CampaignInfo:
    found = gw.campaign(run.campaign_id)
    assert found is not None
    return found


def _next_quarter_hour(after: datetime) -> datetime:
    moment = after.astimezone(UTC).replace(second=0, microsecond=0)
    return moment + timedelta(minutes=15 - moment.minute % 15)


def case_create_campaign(gw: Gateway, run: Run) -> None:
    made = gw.create_campaign(title=CAMPAIGN_TITLE, subject="*|FNAME|*, the rally is on",
                              preview_text="Saturday at the hall", from_name="Local 12",
                              reply_to=ORGANIZER, segment_id=run.segment_id)
    assert isinstance(made, CampaignInfo)
    if run.stateful:
        assert (made.status, made.title, made.segment_id, made.emails_sent) == (
            "save", CAMPAIGN_TITLE, run.segment_id, 0)
        assert made.send_time is None and made.create_time is not None
        assert made.recipient_count == 1  # Ann; Cy is pending, Bo left the segment
        run.campaign_id = made.id


def case_find_campaign(gw: Gateway, run: Run) -> None:
    found = gw.find_campaign(CAMPAIGN_TITLE)
    assert found is None or isinstance(found, CampaignInfo)
    if run.stateful:
        assert found is not None and found.id == run.campaign_id
        assert gw.find_campaign(CAMPAIGN_TITLE + " (not made)") is None


def case_campaign(gw: Gateway, run: Run) -> None:
    found = _campaign(gw, run)
    if run.stateful:
        assert (found.id, found.status, found.subject) == (
            run.campaign_id, "save", "*|FNAME|*, the rally is on")
        assert gw.campaign("0000000000") is None  # Mailchimp's 404, checked too


def case_set_content(gw: Gateway, run: Run) -> None:
    assert gw.set_content(run.campaign_id, html=CAMPAIGN_HTML, plain_text=CAMPAIGN_TEXT) is None


def case_content(gw: Gateway, run: Run) -> None:
    markup, text = gw.content(run.campaign_id)
    assert isinstance(markup, str) and isinstance(text, str)
    if run.stateful:
        assert (markup, text) == (CAMPAIGN_HTML, CAMPAIGN_TEXT)


def case_send_test(gw: Gateway, run: Run) -> None:
    assert gw.send_test(run.campaign_id, [ORGANIZER, ANN.email]) is None
    if run.stateful:
        assert _campaign(gw, run).status == "save"  # a test sends nothing to the segment


def case_schedule(gw: Gateway, run: Run) -> None:
    when = _next_quarter_hour(datetime.now(UTC) + timedelta(days=1))
    assert gw.schedule(run.campaign_id, when) is None
    if run.stateful:
        scheduled = _campaign(gw, run)
        assert (scheduled.status, scheduled.send_time) == ("schedule", when)


def case_unschedule(gw: Gateway, run: Run) -> None:
    assert gw.unschedule(run.campaign_id) is None
    if run.stateful:
        back = _campaign(gw, run)
        assert (back.status, back.send_time) == ("save", None)


def case_send(gw: Gateway, run: Run) -> None:
    assert gw.send(run.campaign_id) is None
    if run.stateful:
        sent = _campaign(gw, run)
        assert (sent.status, sent.emails_sent) == ("sent", 1)
        assert sent.send_time is not None


# Each public Gateway method and the case that drives it; against the sandbox they run in
# this order, each building on the ones before.
CONTRACT_CASES: dict[str, Callable[[Gateway, Run], None]] = {
    "ping": case_ping,
    "audience": case_audience,
    "create_merge_field": case_create_merge_field,
    "merge_fields": case_merge_fields,
    "batch_upsert": case_batch_upsert,
    "upsert_member": case_upsert_member,
    "member": case_member,
    "set_tags": case_set_tags,
    "members_changed": case_members_changed,
    "create_static_segment": case_create_static_segment,
    "change_static_segment": case_change_static_segment,
    "static_segments": case_static_segments,
    "add_webhook": case_add_webhook,
    "webhooks": case_webhooks,
    "create_campaign": case_create_campaign,
    "find_campaign": case_find_campaign,
    "campaign": case_campaign,
    "set_content": case_set_content,
    "content": case_content,
    "send_test": case_send_test,
    "schedule": case_schedule,
    "unschedule": case_unschedule,
    "send": case_send,
}


def test_every_public_gateway_method_has_a_contract_case() -> None:
    public = [n for n in dir(Gateway) if not n.startswith("_") and callable(getattr(Gateway, n))]
    missing = sorted(set(public) - set(CONTRACT_CASES))
    stale = sorted(set(CONTRACT_CASES) - set(public))
    assert not missing, f"Gateway methods without a contract case: {missing}"
    assert not stale, f"Contract cases for methods Gateway no longer has: {stale}"


# -- fixtures ---------------------------------------------------------------------------

@dataclass
class Spec:
    """The published spec, the adjusted one, and where the adjusted one is written."""

    path: Path
    published: dict[str, Any]
    adjusted: dict[str, Any]


@pytest.fixture(scope="session")
def node() -> str:
    """Return the node executable, with Prism and the spec installed."""
    try:
        return contract.install_tools()
    except contract.ToolsUnavailable as exc:
        pytest.skip(f"contract tests need Node.js and npm: {exc}")


@pytest.fixture(scope="session")
def spec(node: str, tmp_path_factory: pytest.TempPathFactory) -> Spec:
    path = tmp_path_factory.mktemp("contract") / "mailchimp.json"
    return Spec(path, *contract.write_adjusted_spec(path))


@pytest.fixture(scope="session")
def prism_mock(node: str, spec: Spec) -> Iterator[contract.Prism]:
    prism = contract.start_prism(node, spec.path, spec.path.parent, "mock")
    try:
        prism.wait_until_ready()
        yield prism
    finally:
        prism.stop()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    # Webhook URLs are not checked with a GET: the one the cases register is made up.
    with serve(SandboxState(validate_webhooks=False), host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture(scope="session")
def prism_proxy(node: str, spec: Spec, sandbox: SandboxServer) -> Iterator[contract.Prism]:
    upstream = f"http://127.0.0.1:{sandbox.port}"  # the paths already carry /3.0
    prism = contract.start_prism(node, spec.path, spec.path.parent, "proxy", upstream)
    try:
        prism.wait_until_ready()
        yield prism
    finally:
        prism.stop()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> contract.Recorder:
    """Record every HTTP exchange (the SDK calls requests) with Prism's violations."""
    found = contract.Recorder()
    monkeypatch.setattr(requests.Session, "send", found.wrap(requests.Session.send))
    return found


def gateway(host: str, audience_id: str) -> Gateway:
    # One try per call: a violation answers 422 or 500, and 500 would otherwise be retried.
    return Gateway(MailchimpConfig(api_key=API_KEY, audience_id=audience_id, server="us1",
                                   host=host, timeout=20, retry=RetryPolicy(attempts=1)))


def spy(gw: Gateway, name: str, calls: list[str]) -> None:
    """Count calls of one public method, to prove a case drives the method it stands for."""
    method = getattr(gw, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return method(*args, **kwargs)

    setattr(gw, name, counted)


def assert_no_violations(exchanges: list[contract.Exchange], what: str) -> None:
    failing, report = contract.violation_report(exchanges)
    assert not failing, f"{what}: the published spec is broken here:\n{report}"


# -- the gateway's requests, against prism mock ---------------------------------------

@pytest.mark.parametrize("name", list(CONTRACT_CASES))
def test_gateway_request_matches_the_published_api(name: str, prism_mock: contract.Prism,
                                                     recorder: contract.Recorder) -> None:
    gw = gateway(prism_mock.url, MOCK_AUDIENCE)
    calls: list[str] = []
    spy(gw, name, calls)
    try:
        CONTRACT_CASES[name](gw, Run(stateful=False))
    except (AssertionError, MailchimpError) as exc:
        exchanges = "\n".join(e.describe() for e in recorder.exchanges)
        pytest.fail(f"Gateway.{name} against prism mock: {type(exc).__name__}: {exc}\n"
                    f"{exchanges}")
    assert calls, f"the case for {name} never calls Gateway.{name}"
    assert recorder.exchanges, f"Gateway.{name} made no HTTP request"
    assert len(recorder.exchanges) <= MOST_REQUESTS_PER_CALL * len(calls)
    assert all(e.status < 300 for e in recorder.exchanges), [e.describe() for e in
                                                             recorder.exchanges]
    assert_no_violations(recorder.exchanges, f"Gateway.{name}")


# -- the harness catches mistakes ------------------------------------------------------

def test_mock_rejects_a_request_that_breaks_the_spec(prism_mock: contract.Prism,
                                                      recorder: contract.Recorder) -> None:
    gw = gateway(prism_mock.url, MOCK_AUDIENCE)
    with pytest.raises(MailchimpError):
        gw.upsert_member(ANN.email, status_if_new="active")  # not a Mailchimp status
    failing, report = contract.violation_report(recorder.exchanges)
    assert [e.status for e in failing] == [422], report
    assert "status_if_new" in report


def _raw(prism: contract.Prism, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    with requests.request(method, prism.url + path, auth=("anystring", API_KEY), timeout=20,
                          **kwargs) as response:
        return response.status_code, response.headers.get("sl-violations", "")


def test_query_booleans_must_be_lowercase_strings(prism_mock: contract.Prism) -> None:
    # Why the spec needs no adjustment for booleans: Prism reads "true"/"false" as the
    # booleans the spec asks for, and refuses what the SDK makes of Python's True.
    path = f"/lists/{MOCK_AUDIENCE}/members"
    assert _raw(prism_mock, "GET", path, params={"vip_only": "true"}) == (200, "")
    assert _raw(prism_mock, "GET", path, params={"vip_only": "false"}) == (200, "")
    status, violations = _raw(prism_mock, "GET", path, params={"vip_only": True})
    assert (status, "vip_only" in violations) == (422, True)


def test_bodyless_actions_accept_only_the_sdks_null(prism_mock: contract.Prism) -> None:
    path = "/campaigns/42a7c0ffee/actions/send"
    json_headers = {"Content-Type": "application/json"}
    assert _raw(prism_mock, "POST", path, data="null", headers=json_headers) == (204, "")
    assert _raw(prism_mock, "POST", path) == (204, "")
    for body in ("{}", '{"schedule_time": "2030-01-01T10:00:00+00:00"}', '"now"'):
        status, violations = _raw(prism_mock, "POST", path, data=body, headers=json_headers)
        assert (status, "request" in violations) == (422, True), body


def _at(document: Any, pointer: str) -> Any:
    for part in pointer.split("/")[1:]:
        key = part.replace("~1", "/").replace("~0", "~")
        document = document[int(key)] if isinstance(document, list) else document[key]
    return document


def test_the_spec_is_adjusted_only_as_documented(spec: Spec) -> None:
    published = dict(spec.published)
    published["paths"] = {contract.API_ROOT + p: i for p, i in spec.published["paths"].items()}
    counts = {"servers": 0, "requestBody": 0, "annotation": 0}
    unexplained = []
    for pointer in contract.spec_differences(spec.published, spec.adjusted):
        parent, _, last = pointer.rpartition("/")
        if pointer.startswith("/servers/"):
            counts["servers"] += 1
        elif last == "requestBody" and parent.endswith("/post"):
            assert "requestBody" not in _at(published, parent), pointer
            assert _at(spec.adjusted, pointer) == {"required": False, "content": {
                "application/json": {"schema": contract.NULL_BODY_SCHEMA}}}, pointer
            counts["requestBody"] += 1
        elif last in ("default", "example") and contract.contradicts_type(
                _at(published, parent), last):
            assert last not in _at(spec.adjusted, parent), pointer
            counts["annotation"] += 1
        else:
            unexplained.append(pointer)
    assert unexplained == []
    assert counts["servers"] >= 1 and counts["requestBody"] >= 1 and counts["annotation"] >= 1
    assert set(spec.adjusted["paths"]) == set(published["paths"])
    assert all(p.startswith("/3.0/") for p in spec.adjusted["paths"])


# -- the sandbox's answers, through prism proxy ----------------------------------------

def test_sandbox_answers_match_the_published_api(prism_proxy: contract.Prism,
                                                 sandbox: SandboxServer,
                                                 recorder: contract.Recorder) -> None:
    gw = gateway(prism_proxy.url, sandbox.list_id)
    calls: list[str] = []
    for name in CONTRACT_CASES:
        spy(gw, name, calls)
    run = Run(stateful=True)
    failures = []
    for name, case in CONTRACT_CASES.items():
        mark = recorder.mark()
        try:
            case(gw, run)
        except (AssertionError, MailchimpError) as exc:
            lines = [e.describe() for e in recorder.since(mark)]
            failures.append(f"{name}: {type(exc).__name__}: {exc}\n  " + "\n  ".join(lines))
    _, report = contract.violation_report(recorder.exchanges)
    assert not failures, "\n".join(failures) + f"\n\nViolations:\n{report}"
    assert_no_violations(recorder.exchanges, "the sandbox's answers")
    assert set(calls) == set(CONTRACT_CASES)


@pytest.mark.parametrize("status", ["429", "500", "503"])
def test_sandbox_error_answers_match_the_published_api(
        status: str, prism_proxy: contract.Prism, sandbox: SandboxServer,
        recorder: contract.Recorder) -> None:
    # The answers the gateway's retries are built on: Mailchimp's problem+json documents.
    gw = gateway(prism_proxy.url, sandbox.list_id)
    sandbox.faults.add(status, path_contains="/ping")
    try:
        with pytest.raises(MailchimpError) as failed:
            gw.ping()
    finally:
        sandbox.faults.clear()
    assert failed.value.status == int(status)
    assert [e.status for e in recorder.exchanges] == [int(status)]
    assert_no_violations(recorder.exchanges, f"the sandbox's {status} answer")


def test_proxy_flags_an_answer_outside_the_published_api(
        prism_proxy: contract.Prism, sandbox: SandboxServer,
        recorder: contract.Recorder) -> None:
    # An HTML error page (what a proxy in front of Mailchimp may send) is not in the spec.
    gw = gateway(prism_proxy.url, sandbox.list_id)
    sandbox.faults.add("html502", path_contains="/ping")
    try:
        with pytest.raises(MailchimpError):
            gw.ping()
    finally:
        sandbox.faults.clear()
    failing, report = contract.violation_report(recorder.exchanges)
    assert len(failing) == 1, report
    assert "text/html" in report


def test_a_call_outside_the_published_api_is_flagged(prism_mock: contract.Prism,
                                                     recorder: contract.Recorder) -> None:
    # Prism's own 404 for an unknown path: flagged even where a case accepts a 404 (member).
    with requests.get(f"{prism_mock.url}/lists/{MOCK_AUDIENCE}/members-by-email/ann",
                      auth=("anystring", API_KEY), timeout=20) as response:
        assert response.status_code == 404
    failing, report = contract.violation_report(recorder.exchanges)
    assert len(failing) == 1, report
    assert "NO_PATH_MATCHED" in report
