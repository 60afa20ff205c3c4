"""Campaigns end to end: the gateway, through the real SDK, against the sandbox Mailchimp."""

from __future__ import annotations

import http.server
import itertools
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from flask import Flask

from campaigns import mailchimp_campaigns, sandbox_inbox, throttle
from campaigns.connection import inbox_url
from campaigns.mailchimp import Gateway, MailchimpConfig, subscriber_hash
from campaigns.mailchimp_errors import MailchimpError
from campaigns.mailchimp_types import CampaignInfo
from campaigns.sandbox import SandboxServer, SandboxState, serve
from campaigns.sandbox.faults import CAMPAIGN_STEPS
from campaigns.sandbox.merge_tags import fill, recipient_lookup

PEOPLE = [
    {"email_address": "ann@union.org", "status": "subscribed",
     "merge_fields": {"FNAME": "Ann <b>&", "LNAME": "O'Neil"}},
    {"email_address": "bo@union.org", "status": "unsubscribed", "merge_fields": {"FNAME": "Bo"}},
    {"email_address": "cy@union.org", "status": "subscribed", "merge_fields": {
        "FNAME": "Cy", "ADDRESS": {"addr1": "400 Mill Rd", "city": "Peoria", "state": "IL",
                                   "zip": "61602"}}},
    {"email_address": "dee@union.org", "status": "subscribed", "merge_fields": {"FNAME": "Dee"}},
    {"email_address": "eve@union.org", "status": "pending", "merge_fields": {"FNAME": "Eve"}},
]
SEGMENT = ["ann@union.org", "bo@union.org", "cy@union.org", "eve@union.org"]  # not Dee
HTML = ('<p>Hi *|FNAME|* *|LNAME|*</p><p>*|ADDRESS|* *|NOSUCH|*</p>'
        '<a href="*|UNSUB|*">Unsubscribe *|EMAIL|*</a>')
TEXT = "Hi *|FNAME|* *|LNAME|* (*|ADDRESS|*) *|NOSUCH|*\nUnsubscribe: *|UNSUB|*"
START = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
_KEYS = itertools.count()


class Clock:
    """A settable clock for the sandbox, so tests let time pass without waiting."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked(clock: Clock) -> Iterator[SandboxServer]:
    with serve(SandboxState(now=clock, validate_webhooks=False)) as server:
        yield server


def gateway(server: SandboxServer, **overrides: Any) -> Gateway:
    # A key of its own: gateways of one key share a connection cap.
    config: dict[str, Any] = dict(
        api_key=f"campaigns{next(_KEYS)}-us1", audience_id=server.list_id, server="us1",
        host=server.url, timeout=2.0, retry=throttle.RetryPolicy(attempts=4, base_seconds=0.001))
    config.update(overrides)
    return Gateway(MailchimpConfig(**config))


def prepared(server: SandboxServer, **overrides: Any) -> tuple[Gateway, int]:
    gw = gateway(server, **overrides)
    assert gw.batch_upsert(PEOPLE).errors == []
    return gw, gw.create_static_segment("Rally", SEGMENT).id


def new_campaign(gw: Gateway, segment_id: int, title: str = "Rally", *, subject: str =
                 "*|FNAME|*, rally Saturday", content: bool = True) -> CampaignInfo:
    made = gw.create_campaign(title=title, subject=subject, preview_text="At the hall",
                              from_name="Local 12", reply_to="organizer@union.org",
                              segment_id=segment_id)
    if content:
        gw.set_content(made.id, html=HTML, plain_text=TEXT)
    return made


def unsub_url(server: SandboxServer, email: str, campaign_id: str) -> str:
    return (f"{server.base_url}/_sandbox/unsubscribe/{server.list_id}/{subscriber_hash(email)}/"
            f"{campaign_id}")


def api_calls(server: SandboxServer, step: str) -> int:
    """Count the API calls of one campaign step the sandbox received, faulted ones included."""
    method, path = CAMPAIGN_STEPS[step]
    pattern = re.escape(path).replace(re.escape("{id}"), "[^/]+")
    return sum(1 for c in server.state.calls
               if c.method == method and re.fullmatch(pattern, c.path.rstrip("/")))


# -- the whole flow -----------------------------------------------------------------------

def test_send_reaches_the_segments_subscribed_members_with_their_own_values(
        sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    made = new_campaign(gw, segment)
    assert (made.status, made.segment_id, made.recipient_count) == ("save", segment, 2)
    assert gw.content(made.id) == (HTML, TEXT)
    gw.send(made.id)

    inbox = sandbox_inbox.messages(sandbox.base_url, made.id, full=True)
    by_to = {m["to"]: m for m in inbox}
    assert sorted(by_to) == ["ann@union.org", "cy@union.org"]  # not Bo, Eve (pending), Dee
    ann, cy = by_to["ann@union.org"], by_to["cy@union.org"]
    assert ann["html"] == ("<p>Hi Ann &lt;b&gt;&amp; O&#x27;Neil</p><p> </p><a href=\""
                           f"{unsub_url(sandbox, 'ann@union.org', made.id)}\">Unsubscribe "
                           "ann@union.org</a>")
    assert ann["text"] == ("Hi Ann <b>& O'Neil () \nUnsubscribe: "
                           f"{unsub_url(sandbox, 'ann@union.org', made.id)}")
    assert ann["subject"] == "Ann <b>&, rally Saturday"
    assert cy["html"].startswith("<p>Hi Cy </p><p>400 Mill Rd, Peoria, IL, 61602, US </p>")
    assert not ann["test"] and ann["sent_at"]

    sent = gw.campaign(made.id)
    assert sent is not None and (sent.status, sent.emails_sent) == ("sent", 2)
    assert sent.send_time is not None
    assert sandbox.state.send_calls(made.id) == 1

    with pytest.raises(MailchimpError) as again:
        gw.send(made.id)
    assert (again.value.status, again.value.detail) == (400, "This campaign has already been "
                                                             "sent.")
    record = sandbox.state.campaign_record(made.id)
    assert (record["send_calls"], record["send_requests"]) == (1, 2)
    assert len(sandbox_inbox.messages(sandbox.base_url, made.id)) == 2
    with pytest.raises(MailchimpError) as edit:
        gw.set_content(made.id, html="<p>late</p>", plain_text="late")
    assert edit.value.status == 400


def test_a_campaign_not_ready_is_not_sent(sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    bare = new_campaign(gw, segment, "No content", content=False)
    untitled = new_campaign(gw, segment, "No subject", subject="")
    for campaign, missing in ((bare, "it has no content"), (untitled, "subject line")):
        with pytest.raises(MailchimpError) as refused:
            gw.send(campaign.id)
        assert refused.value.status == 400 and missing in refused.value.detail
        assert sandbox.state.send_calls(campaign.id) == 0
    assert sandbox.state.inbox_messages() == []


def test_test_sends_use_member_values_or_placeholders_and_mail_nobody_else(
        sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    made = new_campaign(gw, segment)
    gw.send_test(made.id, ["ann@union.org", "organizer@union.org"])
    inbox = {m["to"]: m for m in sandbox_inbox.messages(sandbox.base_url, full=True)}
    assert set(inbox) == {"ann@union.org", "organizer@union.org"}
    assert all(m["test"] for m in inbox.values())
    assert inbox["ann@union.org"]["subject"] == "[Test] Ann <b>&, rally Saturday"
    assert inbox["organizer@union.org"]["text"].startswith("Hi [FNAME] [LNAME] ([ADDRESS])")
    info = gw.campaign(made.id)
    assert info is not None and (info.status, info.emails_sent) == ("save", 0)


# -- scheduling -----------------------------------------------------------------------------

def test_schedule_times_are_checked_before_calling(sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    made = new_campaign(gw, segment)
    before = gw.calls
    for when, words in ((datetime(2030, 1, 1, 10, 0), "time zone"),
                        (datetime(2030, 1, 1, 10, 7, tzinfo=UTC), "quarter hour"),
                        (datetime(2030, 1, 1, 10, 15, 30, tzinfo=UTC), "quarter hour")):
        with pytest.raises(ValueError, match=words):
            gw.schedule(made.id, when)
    assert gw.calls == before and api_calls(sandbox, "schedule") == 0
    with pytest.raises(MailchimpError) as past:
        gw.schedule(made.id, datetime(2020, 1, 1, 10, 0, tzinfo=UTC))
    assert past.value.status == 400
    assert past.value.errors == [{"field": "schedule_time",
                                  "message": "The schedule time must be in the future."}]
    india = timezone(timedelta(hours=5, minutes=30))
    gw.schedule(made.id, datetime(2030, 1, 1, 15, 45, tzinfo=india))  # 10:15 UTC
    assert sandbox.state.campaign_record(made.id)["schedule_time"] == "2030-01-01T10:15:00+00:00"


def test_schedule_unschedule_and_letting_time_pass(clocked: SandboxServer, clock: Clock) -> None:
    gw, segment = prepared(clocked)
    made = new_campaign(gw, segment)
    later = new_campaign(gw, segment, "Later")
    when = START + timedelta(hours=1)
    gw.schedule(made.id, when)
    info = gw.campaign(made.id)
    assert info is not None and (info.status, info.send_time) == ("schedule", when)
    with pytest.raises(MailchimpError) as locked:
        gw.set_content(made.id, html="<p>changed</p>", plain_text="changed")
    assert locked.value.status == 400 and "unschedule" in locked.value.detail
    gw.unschedule(made.id)
    info = gw.campaign(made.id)
    assert info is not None and (info.status, info.send_time) == ("save", None)
    gw.schedule(made.id, when)
    gw.schedule(later.id, START + timedelta(days=30))

    run = f"{clocked.base_url}/_sandbox/campaigns/run-scheduled"
    assert requests.post(run, timeout=5).json() == {"delivered": []}  # not yet time
    clock.now = START + timedelta(hours=2)
    assert requests.post(run, timeout=5).json() == {
        "delivered": [{"campaign_id": made.id, "emails_sent": 2}]}
    info = gw.campaign(made.id)
    assert info is not None and (info.status, info.emails_sent) == ("sent", 2)
    assert clocked.state.send_calls(made.id) == 1
    with pytest.raises(MailchimpError):
        gw.unschedule(made.id)  # sent: nothing to take back
    assert requests.post(run, params={"all": "true"}, timeout=5).json() == {
        "delivered": [{"campaign_id": later.id, "emails_sent": 2}]}
    assert {m["campaign_id"] for m in sandbox_inbox.messages(clocked.base_url)} == {
        made.id, later.id}
    with pytest.raises(MailchimpError) as not_scheduled:
        gw.schedule(made.id, START + timedelta(days=2))
    assert not_scheduled.value.status == 400


# -- lost answers, retries and faults per step ----------------------------------------------

def test_find_campaign_finds_the_newest_of_this_audience_by_exact_title(
        clocked: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    gw, segment = prepared(clocked)
    first = new_campaign(gw, segment, "Rally", content=False)
    for title in ("Rally!", "rally", "Other", "Another"):
        new_campaign(gw, segment, title, content=False)
    elsewhere = clocked.state.add_audience("Second audience")
    clocked.state.batch_subscribe(elsewhere, PEOPLE[:1])
    other = gateway(clocked, audience_id=elsewhere)
    other.create_campaign(title="Rally", subject="s", preview_text="", from_name="f",
                          reply_to="r@union.org",
                          segment_id=other.create_static_segment("All", ["ann@union.org"]).id)
    monkeypatch.setattr(mailchimp_campaigns, "CAMPAIGN_PAGE", 2)
    clocked.state.reset_calls()
    found = gw.find_campaign("Rally")
    assert found is not None and found.id == first.id
    assert api_calls(clocked, "list") == 3  # newest first, two a page: the oldest is last

    clocked.faults.add_step("drop_after", "create")
    with pytest.raises(MailchimpError) as lost:
        new_campaign(gw, segment, "Rally", content=False)
    assert lost.value.status is None
    assert api_calls(clocked, "create") == 1  # never repeated blindly
    newest = gw.find_campaign("Rally")
    assert newest is not None and newest.id not in (first.id,)
    assert clocked.state.campaign_record(newest.id)["settings"]["title"] == "Rally"
    assert gw.find_campaign("Missing") is None


@pytest.mark.parametrize("kind", ["drop_after", "500", "503", "drop", "timeout"])
def test_send_is_never_repeated_when_its_outcome_is_unknown(sandbox: SandboxServer,
                                                            kind: str) -> None:
    gw, segment = prepared(sandbox, timeout=0.5)
    sandbox.faults.timeout_sleep = 1.0
    made = new_campaign(gw, segment)
    sandbox.faults.add_step(kind, "send", campaign_id=made.id, times=3)
    with pytest.raises(MailchimpError) as failed:
        gw.send(made.id)
    assert api_calls(sandbox, "send") == 1
    applied = kind == "drop_after"
    assert failed.value.status == {"500": 500, "503": 503}.get(kind)
    assert sandbox.state.send_calls(made.id) == (1 if applied else 0)
    info = gw.campaign(made.id)  # what the caller reads before deciding
    assert info is not None and info.status == ("sent" if applied else "save")


def test_a_refused_send_is_retried(sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    made = new_campaign(gw, segment)
    sandbox.faults.add_step("429", "send", times=2)
    gw.send(made.id)
    assert api_calls(sandbox, "send") == 3
    assert sandbox.state.send_calls(made.id) == 1
    assert len(sandbox.state.inbox_messages(made.id)) == 2


def test_create_is_retried_only_when_refused(sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    sandbox.faults.add_step("500", "create")
    with pytest.raises(MailchimpError):
        new_campaign(gw, segment, content=False)
    sandbox.faults.add_step("429", "create")
    made = new_campaign(gw, segment, content=False)
    assert api_calls(sandbox, "create") == 3
    assert [c["id"] for c in sandbox.state.campaign_records()] == [made.id]


def _step_call(step: str, gw: Gateway, campaign_id: str) -> Callable[[], Any]:
    return {
        "get": lambda: gw.campaign(campaign_id),
        "list": lambda: gw.find_campaign("Rally"),
        "content": lambda: gw.set_content(campaign_id, html="<p>New</p>", plain_text="New"),
        "get_content": lambda: gw.content(campaign_id),
        "test": lambda: gw.send_test(campaign_id, ["organizer@union.org"]),
        "schedule": lambda: gw.schedule(campaign_id, datetime(2030, 1, 1, 10, 0, tzinfo=UTC)),
        "unschedule": lambda: gw.unschedule(campaign_id),
    }[step]


@pytest.mark.parametrize("step", ["get", "list", "content", "get_content", "test", "schedule",
                                  "unschedule"])
def test_a_lost_answer_on_a_safe_step_is_retried_to_the_same_end(sandbox: SandboxServer,
                                                                  step: str) -> None:
    gw, segment = prepared(sandbox)
    made = new_campaign(gw, segment)
    if step == "unschedule":
        gw.schedule(made.id, datetime(2030, 1, 1, 10, 0, tzinfo=UTC))
    rule = sandbox.faults.add_step("drop_after", step,
                                   campaign_id=None if step == "list" else made.id)
    before = api_calls(sandbox, step)
    result = _step_call(step, gw, made.id)()
    assert rule.fired == 1 and api_calls(sandbox, step) == before + 2  # applied, then again
    record = sandbox.state.campaign_record(made.id)
    expected = {"get": lambda: result.id == made.id, "list": lambda: result.id == made.id,
                "content": lambda: record["html"] == "<p>New</p>",
                "get_content": lambda: result == (HTML, TEXT),
                # A repeated test mails the tester twice: harmless, and so it is retried.
                "test": lambda: record["test_sends"] == 2,
                "schedule": lambda: record["status"] == "schedule",
                "unschedule": lambda: record["status"] == "save"}[step]
    assert expected()


def test_faults_pick_one_step_of_one_campaign(sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    one, two = new_campaign(gw, segment, "One"), new_campaign(gw, segment, "Two")
    rule = sandbox.faults.add_step("500", "send", campaign_id=two.id)
    gw.send_test(two.id, ["organizer@union.org"])  # another step of the same campaign
    gw.send(one.id)
    assert rule.fired == 0
    with pytest.raises(MailchimpError):
        gw.send(two.id)
    assert rule.fired == 1
    with pytest.raises(ValueError, match="unknown campaign step"):
        sandbox.faults.add_step("500", "publish")


# -- unsubscribing, the inbox client, the sandbox's own data ----------------------------------

@pytest.fixture
def hooks() -> Iterator[list[dict[str, str]]]:
    received: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            received.append(dict(urllib.parse.parse_qsl(raw, keep_blank_values=True)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    received.append({"url": f"http://127.0.0.1:{server.server_port}/hook"})
    yield received
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_unsubscribe_link_unsubscribes_and_fires_the_webhook(
        sandbox: SandboxServer, hooks: list[dict[str, str]]) -> None:
    gw, segment = prepared(sandbox)
    gw.add_webhook(hooks.pop()["url"], ["unsubscribe"], ["user"])
    made = new_campaign(gw, segment)
    gw.send(made.id)
    link = unsub_url(sandbox, "ann@union.org", made.id)
    page = requests.get(link, timeout=5)
    assert page.status_code == 200 and "<button" in page.text and "ann@union.org" in page.text
    done = requests.post(link, timeout=5)
    assert done.status_code == 200 and "Unsubscribed" in done.text
    member = gw.member("ann@union.org")
    assert member is not None and member.status == "unsubscribed"
    assert [(h["type"], h["data[email]"], h["data[campaign_id]"]) for h in hooks] == [
        ("unsubscribe", "ann@union.org", made.id)]
    follow_up = new_campaign(gw, segment, "Follow-up")
    gw.send(follow_up.id)
    assert [m["to"] for m in sandbox_inbox.messages(sandbox.base_url, follow_up.id)] == [
        "cy@union.org"]


def test_a_sent_campaign_fires_the_campaign_webhook_after_the_send_call(
        sandbox: SandboxServer, hooks: list[dict[str, str]]) -> None:
    gw, segment = prepared(sandbox)
    gw.add_webhook(hooks.pop()["url"], ["campaign"], ["user", "admin"])
    made = new_campaign(gw, segment)
    gw.send(made.id)
    deadline = time.monotonic() + 5
    while not hooks and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [(h["type"], h["data[id]"], h["data[status]"]) for h in hooks] == [
        ("campaign", made.id, "sent")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", hooks[0]["fired_at"])
    while time.monotonic() < deadline and not any(
            d["type"] == "campaign" for d in sandbox.state.delivery_log):
        time.sleep(0.01)  # the sandbox logs a delivery once the answer is back
    [delivery] = [d for d in sandbox.state.delivery_log if d["type"] == "campaign"]
    assert delivery["status_code"] == 200


def test_a_webhook_without_the_campaign_event_hears_nothing_of_sends(
        sandbox: SandboxServer, hooks: list[dict[str, str]]) -> None:
    gw, segment = prepared(sandbox)
    gw.add_webhook(hooks.pop()["url"], ["unsubscribe"], ["user", "admin", "api"])
    gw.send(new_campaign(gw, segment).id)
    time.sleep(0.2)
    assert hooks == []


def test_inbox_client_reads_newest_first_and_explains_failures(sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    first, second = new_campaign(gw, segment, "First"), new_campaign(gw, segment, "Second")
    gw.send(first.id)
    gw.send_test(second.id, ["organizer@union.org"])
    listed = sandbox_inbox.messages(sandbox.url)  # the API root is taken too
    assert [m["campaign_id"] for m in listed] == [second.id, first.id, first.id]
    assert set(listed[0]) == {"campaign_id", "message_id", "to", "subject", "test", "sent_at"}
    assert listed[0]["test"] and not listed[1]["test"]
    one = sandbox_inbox.message(sandbox.base_url, listed[1]["message_id"])
    assert one is not None and one["to"] == listed[1]["to"] and "Unsubscribe" in one["html"]
    assert sandbox_inbox.message(sandbox.base_url, "0000000000000000") is None
    with pytest.raises(sandbox_inbox.SandboxUnavailable):
        sandbox_inbox.message(f"{sandbox.base_url}/elsewhere", listed[0]["message_id"])
    closed = serve()
    closed.stop()
    with pytest.raises(sandbox_inbox.SandboxUnavailable, match="did not answer"):
        sandbox_inbox.messages(closed.base_url, timeout=1)


def test_inbox_url_is_the_sandboxs_root_and_none_with_a_real_key(
        mc_app: Flask, sandbox: SandboxServer, shared_app: Callable[..., Flask]) -> None:
    assert inbox_url(mc_app) == sandbox.base_url
    real = shared_app(CRM_MAILCHIMP_API_KEY="0123abcd-us6", CRM_MAILCHIMP_AUDIENCE_ID="a1b2c3")
    assert inbox_url(real) is None


def test_campaigns_and_inbox_survive_a_restart(tmp_path: Any) -> None:
    data = tmp_path / "sandbox.json"
    with serve(SandboxState(data, validate_webhooks=False)) as server:
        gw, segment = prepared(server)
        made = new_campaign(gw, segment)
        gw.send(made.id)
        draft = new_campaign(gw, segment, "Draft")
    with serve(SandboxState(data)) as again:
        gw = gateway(again)
        info = gw.campaign(made.id)
        assert info is not None and (info.status, info.emails_sent) == ("sent", 2)
        assert gw.content(draft.id) == (HTML, TEXT)
        assert again.state.send_calls(made.id) == 1
        assert len(sandbox_inbox.messages(again.base_url, made.id)) == 2
        newer = new_campaign(gw, segment, "After the restart", content=False)
        assert again.state.campaign_record(newer.id)["number"] == 3


def test_sandbox_refuses_what_mailchimp_refuses(sandbox: SandboxServer) -> None:
    gw, segment = prepared(sandbox)
    with pytest.raises(MailchimpError) as no_segment:
        gw.create_campaign(title="t", subject="s", preview_text="", from_name="f",
                           reply_to="r@union.org", segment_id=999999)
    assert no_segment.value.errors[0]["field"] == "recipients.segment_opts.saved_segment_id"
    assert gw.campaign("0000000000") is None
    auth = ("anyone", "key-us1")
    other = requests.post(f"{sandbox.url}/campaigns", auth=auth, timeout=5, json={
        "type": "plaintext", "recipients": {"list_id": sandbox.list_id}})
    assert other.status_code == 400 and other.json()["errors"][0]["field"] == "type"
    made = new_campaign(gw, segment)
    bad_test = requests.post(f"{sandbox.url}/campaigns/{made.id}/actions/test", auth=auth,
                             timeout=5, json={"test_emails": ["nobody"], "send_type": "html"})
    assert bad_test.status_code == 400
    idle = requests.post(f"{sandbox.url}/campaigns/{made.id}/actions/unschedule", auth=auth,
                         timeout=5)
    assert (idle.status_code, idle.json()["detail"]) == (400, "This campaign is not scheduled.")
    assert gw.unschedule(made.id) is None  # the gateway leaves a draft as it is


@pytest.mark.parametrize(("change", "why"), [
    ({"reply_to": "not an address"}, "the reply-to address is not a valid email address"),
    ({"html": "<p>Hi *|FNAME|*</p>", "text": "Hi *|FNAME|*"},
     "the content has no unsubscribe link (*|UNSUB|*)"),
    ({"segment": ["bo@union.org", "eve@union.org"]}, "the segment has no subscribed members"),
])
def test_a_send_or_schedule_is_refused_as_mailchimps_checklist_refuses_it(
        sandbox: SandboxServer, change: dict[str, Any], why: str) -> None:
    gw, segment = prepared(sandbox)
    if "segment" in change:  # an unsubscribed and a pending member: nobody to send to
        segment = gw.create_static_segment("Nobody", change["segment"]).id
    made = gw.create_campaign(title="Checklist", subject="Hi", preview_text="",
                              from_name="Local 12", reply_to=change.get("reply_to",
                                                                        "organizer@union.org"),
                              segment_id=segment)
    gw.set_content(made.id, html=change.get("html", HTML), plain_text=change.get("text", TEXT))
    for attempt in (lambda: gw.send(made.id),
                    lambda: gw.schedule(made.id, START.replace(year=2099))):
        with pytest.raises(MailchimpError) as refused:
            attempt()
        assert refused.value.status == 400
        assert why in refused.value.detail
    assert sandbox.state.inbox_messages(made.id) == []
    assert gw.campaign(made.id).status == "save"  # type: ignore[union-attr]


# -- the substitution rule ----------------------------------------------------------------

def test_merge_tags_are_filled_in_one_pass_escaped_only_in_html() -> None:
    lookup = recipient_lookup({"FNAME": "*|EMAIL|* & co", "SHOP": 5, "ADDRESS": None},
                              email="ann@union.org", unsubscribe_url="u?a=1&b=2",
                              list_address="Hall")
    template = "*|fname|* *|SHOP|* *|ADDRESS|* *|UNSUB|* *|LIST:ADDRESS|* *|X|* *|bad tag|*"
    assert fill(template, lookup, as_html=False) == (
        "*|EMAIL|* & co 5  u?a=1&b=2 Hall  *|bad tag|*")
    assert fill(template, lookup, as_html=True) == (
        "*|EMAIL|* &amp; co 5  u?a=1&amp;b=2 Hall  *|bad tag|*")
