"""The sandbox Mailchimp, driven over HTTP by the official SDK (and by requests for faults)."""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mailchimp_marketing
import pytest
import requests
from mailchimp_marketing.api_client import ApiClientError

from campaigns.sandbox import (
    DEFAULT_LIST_ID,
    Faults,
    SandboxServer,
    SandboxState,
    serve,
    subscriber_hash,
)

ROOT = Path(__file__).resolve().parent.parent
LIST = DEFAULT_LIST_ID
AUTH = ("anyone", "any-key-us1")


def sdk(server: SandboxServer, timeout: float | None = None) -> Any:
    """Return an SDK client pointed at the sandbox, as the app builds it."""
    client = mailchimp_marketing.Client()
    config: dict[str, Any] = {"api_key": "anything-us1", "server": "us1"}
    if timeout is not None:
        config["timeout"] = timeout
    client.set_config(config)
    client.api_client.host = server.url
    return client


def problem(exc: ApiClientError) -> dict[str, Any]:
    """Return the problem+json body the SDK kept as text."""
    return json.loads(exc.text)


def member(email: str, status: str = "subscribed", **merge: Any) -> dict[str, Any]:
    return {"email_address": email, "status": status, "merge_fields": merge}


class Clock:
    """A settable clock, so tests can tell changes apart without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: int = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with serve() as server:
        yield server


@pytest.fixture
def client(sandbox: SandboxServer) -> Any:
    return sdk(sandbox)


class HookSink:
    """A tiny web app standing in for ours: answers webhooks and Mailchimp's checking GET."""

    def __init__(self) -> None:
        self.gets: list[str] = []
        self.posts: list[tuple[str, dict[str, str]]] = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sink.gets.append(self.path)
                self.send_response(404 if self.path.startswith("/missing") else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
                sink.posts.append((self.path, form))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def sink() -> Iterator[HookSink]:
    found = HookSink()
    yield found
    found.close()


# -- basics ---------------------------------------------------------------------------

def test_ping_list_and_auth(sandbox: SandboxServer, client: Any) -> None:
    assert client.ping.get() == {"health_status": "Everything's Chimpy!"}
    client.lists.batch_list_members(LIST, {"members": [member("ann@union.org"),
                                                       member("bo@union.org", "unsubscribed")]})
    audience = client.lists.get_list(LIST)
    assert (audience["id"], audience["name"]) == (LIST, "Sandbox audience")
    assert audience["stats"]["member_count"] == 1
    assert audience["stats"]["unsubscribe_count"] == 1
    with pytest.raises(ApiClientError) as missing:
        client.lists.get_list("0000000000")
    assert missing.value.status_code == 404
    assert problem(missing.value)["title"] == "Resource Not Found"
    anonymous = requests.get(f"{sandbox.url}/ping", timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.headers["Content-Type"].startswith("application/problem+json")
    assert set(anonymous.json()) >= {"type", "title", "status", "detail", "instance"}
    assert requests.get(f"{sandbox.url}/nowhere", auth=AUTH, timeout=5).status_code == 404


# -- members --------------------------------------------------------------------------

def test_batch_creates_updates_and_reports_errors_per_member(client: Any) -> None:
    first = client.lists.batch_list_members(LIST, {"members": [
        member("ann@union.org", FNAME="Ann", NOSUCHTAG="ignored",
               ADDRESS={"addr1": "12 Union Ave", "city": "Springfield", "state": "IL",
                        "zip": "62701"}),
        member("test@union.org"), member("someone@mailinator.com"), member("not-an-address"),
        member("cy@union.org", ADDRESS={"addr1": "12 Union Ave"}),
        member("dee@union.org", "unsubscribed"), member("eve@union.org", "cleaned"),
    ]})
    assert [m["email_address"] for m in first["new_members"]] == [
        "ann@union.org", "dee@union.org", "eve@union.org"]
    # A batch answers briefly per member (as the spec allows); the member holds the values.
    ann = client.lists.get_list_member(LIST, subscriber_hash("ann@union.org"))
    assert ann["merge_fields"]["ADDRESS"]["city"] == "Springfield"
    assert "NOSUCHTAG" not in ann["merge_fields"]
    errors = {e["email_address"]: e for e in first["errors"]}
    for fake in ("test@union.org", "someone@mailinator.com", "not-an-address"):
        assert errors[fake]["error_code"] == "ERROR_GENERIC"
        assert "looks fake or invalid" in errors[fake]["error"]
    assert (errors["cy@union.org"]["field"], errors["cy@union.org"]["field_message"]) == (
        "ADDRESS", "Please enter a complete address")
    assert (first["total_created"], first["error_count"]) == (3, 4)

    exists = client.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
    assert exists["errors"][0]["error_code"] == "ERROR_CONTACT_EXISTS"
    assert "is already a list member" in exists["errors"][0]["error"]

    again = client.lists.batch_list_members(LIST, {"update_existing": True, "members": [
        member("ann@union.org", "unsubscribed", LNAME="Lee"),
        member("dee@union.org"), member("eve@union.org", "pending"),
    ]})
    assert [m["email_address"] for m in again["updated_members"]] == ["ann@union.org"]
    assert again["updated_members"][0]["status"] == "unsubscribed"
    held = client.lists.get_list_member(LIST, subscriber_hash("ann@union.org"))
    assert (held["merge_fields"]["FNAME"], held["merge_fields"]["LNAME"]) == ("Ann", "Lee")
    compliance = {e["email_address"]: e["error"] for e in again["errors"]}
    assert set(compliance) == {"dee@union.org", "eve@union.org"}
    assert all("compliance state" in text for text in compliance.values())
    # Unsubscribed may go to pending (a new opt-in email); cleaned may not.
    reopt = client.lists.batch_list_members(LIST, {"update_existing": True, "members": [
        member("dee@union.org", "pending")]})
    assert reopt["updated_members"][0]["status"] == "pending"


def test_batch_of_more_than_500_is_refused_whole(sandbox: SandboxServer, client: Any) -> None:
    body = {"members": [member(f"m{i}@union.org") for i in range(501)]}
    with pytest.raises(ApiClientError) as refused:
        client.lists.batch_list_members(LIST, body)
    assert refused.value.status_code == 400
    assert "500" in problem(refused.value)["detail"]
    assert sandbox.state.member_count() == 0


def test_put_adds_with_status_if_new_but_never_flips_an_existing_status(client: Any) -> None:
    ann = subscriber_hash("Ann@Union.org")
    added = client.lists.set_list_member(LIST, ann, {
        "email_address": "Ann@Union.org", "status_if_new": "unsubscribed",
        "merge_fields": {"FNAME": "Ann"}})
    assert (added["status"], added["id"]) == ("unsubscribed", ann)
    kept = client.lists.set_list_member(LIST, ann, {
        "email_address": "ann@union.org", "status_if_new": "subscribed",
        "merge_fields": {"LNAME": "Lee"}})
    assert kept["status"] == "unsubscribed"
    assert (kept["merge_fields"]["FNAME"], kept["merge_fields"]["LNAME"]) == ("Ann", "Lee")
    with pytest.raises(ApiClientError) as blocked:
        client.lists.set_list_member(LIST, ann, {"email_address": "ann@union.org",
                                                 "status_if_new": "subscribed",
                                                 "status": "subscribed"})
    assert problem(blocked.value)["title"] == "Member In Compliance State"
    with pytest.raises(ApiClientError) as mismatch:
        client.lists.set_list_member(LIST, subscriber_hash("nobody@union.org"), {
            "email_address": "bo@union.org", "status_if_new": "subscribed"})
    assert mismatch.value.status_code == 400
    with pytest.raises(ApiClientError) as incomplete:
        client.lists.set_list_member(LIST, ann, {"email_address": "ann@union.org"})
    assert problem(incomplete.value)["errors"][0]["field"] == "status_if_new"
    assert client.lists.get_list_member(LIST, ann)["status"] == "unsubscribed"
    with pytest.raises(ApiClientError) as absent:
        client.lists.get_list_member(LIST, subscriber_hash("nobody@union.org"))
    assert absent.value.status_code == 404


def test_put_on_the_old_hash_changes_the_address_and_keeps_tags(client: Any) -> None:
    old = subscriber_hash("dee@union.org")
    client.lists.set_list_member(LIST, old, {"email_address": "dee@union.org",
                                             "status_if_new": "subscribed"})
    client.lists.update_list_member_tags(LIST, old, {"tags": [{"name": "Steward",
                                                               "status": "active"}]})
    moved = client.lists.set_list_member(LIST, old, {"email_address": "dee@okafor.org",
                                                     "status_if_new": "subscribed"})
    assert (moved["email_address"], moved["id"]) == ("dee@okafor.org",
                                                     subscriber_hash("dee@okafor.org"))
    assert [t["name"] for t in moved["tags"]] == ["Steward"]
    with pytest.raises(ApiClientError):
        client.lists.get_list_member(LIST, old)


def test_members_listing_by_change_time_status_and_pages() -> None:
    clock = Clock()
    with serve(SandboxState(now=clock)) as server:
        api = sdk(server)
        api.lists.batch_list_members(LIST, {"members": [
            member("b@union.org"), member("a@union.org"), member("c@union.org", "unsubscribed")]})
        later = clock.advance(10)
        api.lists.batch_list_members(LIST, {"members": [member("d@union.org")]})
        clock.advance(10)
        # An update that changes nothing leaves last_changed alone.
        api.lists.batch_list_members(LIST, {"update_existing": True,
                                            "members": [member("a@union.org")]})
        everyone = api.lists.get_list_members_info(LIST, count=1000)
        assert [m["email_address"] for m in everyone["members"]] == [
            "a@union.org", "b@union.org", "c@union.org", "d@union.org"]
        since = api.lists.get_list_members_info(LIST, since_last_changed=later.isoformat())
        assert [m["email_address"] for m in since["members"]] == ["d@union.org"]
        gone = api.lists.get_list_members_info(LIST, status="unsubscribed")
        assert [m["email_address"] for m in gone["members"]] == ["c@union.org"]
        first = api.lists.get_list_members_info(LIST, status="subscribed", count=2, offset=0)
        rest = api.lists.get_list_members_info(LIST, status="subscribed", count=2, offset=2)
        assert first["total_items"] == rest["total_items"] == 3
        assert [m["email_address"] for m in first["members"] + rest["members"]] == [
            "a@union.org", "b@union.org", "d@union.org"]
        assert everyone["members"][0]["last_changed"] == "2026-11-29T12:00:00+00:00"
        default_page = api.lists.get_list_members_info(LIST)
        assert len(default_page["members"]) == 4 and default_page["list_id"] == LIST


def test_tags_become_static_segments() -> None:
    clock = Clock()
    with serve(SandboxState(now=clock)) as server:
        api = sdk(server)
        api.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
        ann = subscriber_hash("ann@union.org")
        clock.advance()
        api.lists.update_list_member_tags(LIST, ann, {"tags": [
            {"name": "Volunteer", "status": "active"}, {"name": "Donor", "status": "active"}]})
        api.lists.update_list_member_tags(LIST, ann, {"tags": [
            {"name": "Donor", "status": "inactive"}, {"name": "Never", "status": "inactive"}]})
        tagged = api.lists.get_list_member(LIST, ann)
        assert [t["name"] for t in tagged["tags"]] == ["Volunteer"]
        assert tagged["tags_count"] == 1
        assert tagged["last_changed"] == "2026-11-29T12:01:00+00:00"
        segments = api.lists.list_segments(LIST, type="static")["segments"]
        assert {s["name"]: s["member_count"] for s in segments} == {"Volunteer": 1, "Donor": 0}
        with pytest.raises(ApiClientError) as absent:
            api.lists.update_list_member_tags(LIST, subscriber_hash("x@union.org"), {
                "tags": [{"name": "Volunteer", "status": "active"}]})
        assert absent.value.status_code == 404


# -- segments and merge fields --------------------------------------------------------

def test_static_segments_add_remove_and_delete(client: Any) -> None:
    client.lists.batch_list_members(LIST, {"members": [
        member("ann@union.org"), member("bo@union.org"), member("cy@union.org")]})
    made = client.lists.create_segment(LIST, {
        "name": "Phone bank", "static_segment": ["ann@union.org", "stranger@union.org"]})
    assert (made["type"], made["member_count"], made["list_id"]) == ("static", 1, LIST)
    assert isinstance(made["id"], int)
    change = client.lists.batch_segment_members(
        {"members_to_add": ["bo@union.org", "cy@union.org", "ann@union.org", "nope@union.org"],
         "members_to_remove": ["ann@union.org"]}, LIST, str(made["id"]))
    assert [m["email_address"] for m in change["members_added"]] == [
        "bo@union.org", "cy@union.org"]
    assert [m["email_address"] for m in change["members_removed"]] == ["ann@union.org"]
    assert (change["total_added"], change["total_removed"], change["error_count"]) == (2, 1, 1)
    assert change["errors"][0]["email_addresses"] == ["nope@union.org"]
    assert client.lists.get_segment(LIST, str(made["id"]))["member_count"] == 2
    with pytest.raises(ApiClientError) as too_many:
        client.lists.batch_segment_members(
            {"members_to_add": [f"m{i}@union.org" for i in range(501)]}, LIST, str(made["id"]))
    assert too_many.value.status_code == 400
    with pytest.raises(ApiClientError) as saved:
        client.lists.create_segment(LIST, {"name": "Saved", "options": {
            "match": "all", "conditions": [{"condition_type": "EmailAddress", "field": "EMAIL",
                                            "op": "contains", "value": "union"}]}})
    assert "not supported by the sandbox" in problem(saved.value)["detail"]
    with pytest.raises(ApiClientError) as duplicate:
        client.lists.create_segment(LIST, {"name": "phone bank", "static_segment": []})
    assert duplicate.value.status_code == 400
    assert client.lists.delete_segment(LIST, str(made["id"])).status_code == 204
    with pytest.raises(ApiClientError) as deleted:
        client.lists.get_segment(LIST, str(made["id"]))
    assert deleted.value.status_code == 404
    listed = client.lists.list_segments(LIST, count=10, offset=0)
    assert (listed["segments"], listed["total_items"]) == ([], 0)


def test_merge_fields_defaults_additions_and_plan_budget() -> None:
    with serve(SandboxState(merge_field_limit=7)) as server:
        api = sdk(server)
        defaults = api.lists.get_list_merge_fields(LIST, count=100)
        assert [(f["tag"], f["type"]) for f in defaults["merge_fields"]] == [
            ("FNAME", "text"), ("LNAME", "text"), ("ADDRESS", "address"), ("PHONE", "phone"),
            ("BIRTHDAY", "birthday")]
        assert defaults["total_items"] == 5
        made = api.lists.add_list_merge_field(LIST, {"name": "Employer", "type": "text",
                                                     "tag": "employer"})
        assert (made["tag"], made["merge_id"]) == ("EMPLOYER", 6)
        for bad in ({"name": "Again", "type": "text", "tag": "EMPLOYER"},
                    {"name": "Long", "type": "text", "tag": "ELEVENCHARS"},
                    {"name": "Odd", "type": "colour"}):
            with pytest.raises(ApiClientError) as refused:
                api.lists.add_list_merge_field(LIST, bad)
            assert refused.value.status_code == 400
        unnamed = api.lists.add_list_merge_field(LIST, {"name": "Shop", "type": "number"})
        assert unnamed["tag"] == "MMERGE7"
        with pytest.raises(ApiClientError) as full:
            api.lists.add_list_merge_field(LIST, {"name": "One more", "type": "text"})
        assert "the most its plan allows (7)" in problem(full.value)["detail"]
        page = api.lists.get_list_merge_fields(LIST, count=2, offset=5)
        assert [f["tag"] for f in page["merge_fields"]] == ["EMPLOYER", "MMERGE7"]
        assert page["total_items"] == 7


# -- webhooks -------------------------------------------------------------------------

def test_webhook_registration_checks_the_url_with_a_get(client: Any, sink: HookSink) -> None:
    hook = client.lists.create_list_webhook(LIST, {
        "url": f"{sink.url}/hooks/mailchimp", "events": {"unsubscribe": True, "cleaned": True},
        "sources": {"user": True, "admin": True}})
    assert sink.gets == ["/hooks/mailchimp"]
    assert hook["events"]["unsubscribe"] and not hook["events"]["subscribe"]
    assert hook["sources"] == {"user": True, "admin": True, "api": False}
    with pytest.raises(ApiClientError) as unverified:
        client.lists.create_list_webhook(LIST, {"url": f"{sink.url}/missing"})
    assert "could not be validated" in problem(unverified.value)["detail"]
    listed = client.lists.get_list_webhooks(LIST)
    assert [h["id"] for h in listed["webhooks"]] == [hook["id"]]
    assert listed["total_items"] == 1
    assert client.lists.delete_list_webhook(LIST, hook["id"]).status_code == 204
    assert client.lists.get_list_webhooks(LIST)["webhooks"] == []


def test_status_change_in_mailchimp_delivers_the_webhook_form(sandbox: SandboxServer,
                                                              client: Any,
                                                              sink: HookSink) -> None:
    client.lists.batch_list_members(LIST, {"members": [
        member("ann@union.org", FNAME="Ann", LNAME="Lee"), member("bo@union.org")]})
    client.lists.create_list_webhook(LIST, {
        "url": f"{sink.url}/hook", "events": {"unsubscribe": True, "cleaned": True},
        "sources": {"user": True, "admin": True, "api": False}})
    answer = requests.post(
        f"{sandbox.base_url}/_sandbox/lists/{LIST}/members/ann@union.org/status",
        json={"status": "unsubscribed"}, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["member"]["status"] == "unsubscribed"
    assert answer.json()["deliveries"][0]["status_code"] == 200
    path, form = sink.posts[0]
    assert path == "/hook"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", form.pop("fired_at"))
    ann = client.lists.get_list_member(LIST, subscriber_hash("ann@union.org"))
    assert form == {
        "type": "unsubscribe", "data[action]": "unsub", "data[reason]": "manual",
        "data[id]": ann["unique_email_id"], "data[list_id]": LIST,
        "data[email]": "ann@union.org", "data[email_type]": "html", "data[ip_opt]": "",
        "data[web_id]": str(ann["web_id"]), "data[campaign_id]": "",
        "data[merges][EMAIL]": "ann@union.org", "data[merges][FNAME]": "Ann",
        "data[merges][LNAME]": "Lee", "data[merges][ADDRESS]": "", "data[merges][PHONE]": "",
        "data[merges][BIRTHDAY]": ""}
    assert ann["status"] == "unsubscribed"

    deliveries = sandbox.fire_status_change("bo@union.org", "cleaned")
    assert [d["status_code"] for d in deliveries] == [200]
    assert sink.posts[1][1]["type"] == "cleaned"
    assert (sink.posts[1][1]["data[reason]"], sink.posts[1][1]["data[email]"]) == (
        "hard", "bo@union.org")
    # A subscribe is not among the hook's events, and a change from the API not its sources.
    assert sandbox.fire_status_change("ann@union.org", "subscribed") == []
    assert sandbox.fire_status_change("bo@union.org", "unsubscribed", source="api") == []
    assert len(sink.posts) == 2 and len(sandbox.state.delivery_log) == 2
    everyone = requests.get(f"{sandbox.base_url}/_sandbox/lists/{LIST}/members", timeout=5)
    assert {m["email_address"]: m["status"] for m in everyone.json()["members"]} == {
        "ann@union.org": "subscribed", "bo@union.org": "unsubscribed"}


# -- faults, latency, concurrency ---------------------------------------------------------

@pytest.mark.parametrize("status", [429, 500, 503])
def test_error_faults_answer_problem_json_and_change_nothing(sandbox: SandboxServer,
                                                             client: Any, status: int) -> None:
    sandbox.faults.add(status, method="POST", path_contains="/lists/")
    with pytest.raises(ApiClientError) as failed:
        client.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
    assert failed.value.status_code == status
    assert problem(failed.value)["status"] == status
    assert sandbox.state.member_count() == 0
    assert sandbox.state.calls[-1].fault == str(status)
    client.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
    assert sandbox.state.member_count() == 1  # the fault fired once only


def test_drop_closes_the_connection_without_applying(sandbox: SandboxServer,
                                                     client: Any) -> None:
    sandbox.faults.add("drop", method="POST")
    with pytest.raises(ApiClientError) as dropped:
        client.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
    assert dropped.value.status_code is None
    assert isinstance(dropped.value.text, requests.ConnectionError)
    sandbox.faults.add("drop", path_contains="/ping")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sandbox.url}/ping", auth=AUTH, timeout=5)
    assert sandbox.state.member_count() == 0
    assert [c.fault for c in sandbox.state.calls] == ["drop", "drop"]


def test_drop_after_applies_the_call_then_closes(sandbox: SandboxServer, client: Any) -> None:
    sandbox.faults.add("drop_after", method="POST")
    with pytest.raises(ApiClientError) as dropped:
        client.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
    assert dropped.value.status_code is None
    assert sandbox.state.find_member(LIST, "ann@union.org") is not None
    assert sandbox.state.calls[-1].status == 200


def test_timeout_fault_outlasts_the_client_and_applies_nothing(sandbox: SandboxServer) -> None:
    sandbox.faults.timeout_sleep = 1.0
    sandbox.faults.add("timeout", method="POST")
    impatient = sdk(sandbox, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ApiClientError) as slow:
        impatient.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
    assert time.monotonic() - started < 0.9
    assert slow.value.status_code is None
    assert isinstance(slow.value.text, requests.Timeout)
    assert impatient.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})[
        "total_created"] == 1  # only the retry created the member


def test_bare_403_and_html_502(sandbox: SandboxServer, client: Any) -> None:
    sandbox.faults.add("bare403", path_contains="/ping")
    bare = requests.get(f"{sandbox.url}/ping", auth=AUTH, timeout=5)
    assert (bare.status_code, bare.content) == (403, b"")
    sandbox.faults.add("bare403", path_contains="/ping")
    # The SDK raises nothing for an error without a body: it hands back the response.
    assert client.ping.get().status_code == 403
    sandbox.faults.add("html502", path_contains="/ping")
    with pytest.raises(ApiClientError) as html:
        client.ping.get()
    assert html.value.status_code == 502
    assert "<html>" in html.value.text


def test_after_skips_the_first_matching_calls(sandbox: SandboxServer, client: Any) -> None:
    rule = sandbox.faults.add(500, path_contains="/ping", after=2, times=1)
    outcomes = []
    for _ in range(4):
        try:
            client.ping.get()
            outcomes.append(200)
        except ApiClientError as exc:
            outcomes.append(exc.status_code)
    assert outcomes == [200, 200, 500, 200]
    assert (rule.seen, rule.fired) == (3, 1)


def test_latency_and_ten_concurrent_clients() -> None:
    with serve(faults=Faults(latency=0.3)) as server:
        started = time.monotonic()
        sdk(server).ping.get()
        assert time.monotonic() - started >= 0.3
        gate = threading.Barrier(10)
        failures: list[BaseException] = []

        def push(worker: int) -> None:
            gate.wait()
            try:
                sdk(server).lists.batch_list_members(LIST, {"members": [
                    member(f"w{worker}-{i}@union.org") for i in range(20)]})
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=push, args=(n,)) for n in range(10)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        assert failures == []
        assert server.state.member_count() == 200
        # Ten calls of 0.3 s each, one after another, would take 3 s: they ran side by side.
        assert elapsed < 1.5
        assert server.state.call_count(method="POST") == 10


def test_an_eleventh_simultaneous_call_on_one_key_gets_429() -> None:
    with serve(faults=Faults(latency=0.5)) as server:
        gate = threading.Barrier(11)
        codes: list[int] = []
        lock = threading.Lock()

        def call(key: str) -> None:
            gate.wait()
            answer = requests.get(f"{server.url}/ping", auth=("anyone", key), timeout=10)
            with lock:
                codes.append(answer.status_code)

        threads = [threading.Thread(target=call, args=("one-key-us1",)) for _ in range(11)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(codes) == [200] * 10 + [429]
        refused = [c for c in server.state.calls if c.status == 429]
        assert len(refused) == 1
        # Once those are answered, the key may call again.
        assert requests.get(f"{server.url}/ping", auth=("anyone", "one-key-us1"),
                            timeout=10).status_code == 200


# -- persistence, call log, command line ------------------------------------------------

def test_state_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.json"
    with serve(SandboxState(data, save_delay=0.05, validate_webhooks=False)) as server:
        api = sdk(server)
        api.lists.batch_list_members(LIST, {"members": [member("ann@union.org", FNAME="Ann")]})
        deadline = time.monotonic() + 5
        while not data.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert data.exists()  # written by the delayed save, before any stop
        api.lists.update_list_member_tags(LIST, subscriber_hash("ann@union.org"), {
            "tags": [{"name": "Volunteer", "status": "active"}]})
        api.lists.add_list_merge_field(LIST, {"name": "Employer", "type": "text",
                                              "tag": "EMPLOYER"})
        api.lists.create_list_webhook(LIST, {"url": "http://127.0.0.1:9/hook"})
    with serve(SandboxState(data)) as again:
        api = sdk(again)
        ann = api.lists.get_list_member(LIST, subscriber_hash("ann@union.org"))
        assert (ann["merge_fields"]["FNAME"], [t["name"] for t in ann["tags"]]) == (
            "Ann", ["Volunteer"])
        assert "EMPLOYER" in {f["tag"] for f in
                              api.lists.get_list_merge_fields(LIST, count=100)["merge_fields"]}
        assert api.lists.get_list_webhooks(LIST)["total_items"] == 1
        made = api.lists.create_segment(LIST, {"name": "New", "static_segment": []})
        assert made["id"] not in {t["id"] for t in ann["tags"]}
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox.json"]


def test_unreadable_data_file_is_moved_aside(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.json"
    data.write_text("{not json", "utf-8")
    state = SandboxState(data)
    assert state.get_list(LIST)["stats"]["total_contacts"] == 0
    assert [p.name.split("-")[0] for p in tmp_path.iterdir()] == ["sandbox.json.unreadable"]


def test_call_log(sandbox: SandboxServer, client: Any) -> None:
    client.ping.get()
    sandbox.state.reset_calls()
    client.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
    client.lists.get_list_members_info(LIST, count=5, status="subscribed")
    client.lists.get_list(LIST)
    with pytest.raises(ApiClientError):
        client.lists.get_list_member(LIST, subscriber_hash("nobody@union.org"))
    state = sandbox.state
    assert [(c.method, c.status) for c in state.calls] == [
        ("POST", 200), ("GET", 200), ("GET", 200), ("GET", 404)]
    assert state.call_count() == 4
    assert state.call_count(method="get") == 3
    assert state.call_count(method="GET", path_contains="/members") == 2
    assert "count=5" in state.calls[1].query and "status=subscribed" in state.calls[1].query
    assert state.calls[0].path == f"/3.0/lists/{LIST}"
    requests.get(f"{sandbox.base_url}/_sandbox/calls", timeout=5)
    assert state.call_count() == 4  # the sandbox's own endpoints are not API calls


def test_command_line_runs_in_the_foreground(tmp_path: Path) -> None:
    data = tmp_path / "sandbox.json"
    command = [sys.executable, "-m", "campaigns.sandbox", "--port", "0", "--data", str(data),
               "--latency-ms", "1"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline()
            url = re.search(r"(http://\S+/3\.0)", banner)
            assert url, banner
            assert requests.get(f"{url[1]}/ping", auth=AUTH, timeout=5).ok
            made = requests.post(f"{url[1]}/lists/{LIST}", auth=AUTH, timeout=5,
                                 json={"members": [member("ann@union.org")]})
            assert made.json()["total_created"] == 1
        finally:
            process.send_signal(2)  # Ctrl+C
            try:
                _out, err = process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()  # never leave a test waiting on it forever
                raise
    assert process.returncode == 0, err
    assert json.loads(data.read_text())["audiences"][0]["members"][0]["email_address"] == (
        "ann@union.org")


def test_state_works_without_http() -> None:
    state = SandboxState()
    result = state.batch_subscribe(LIST, [member("ann@union.org")])
    assert result["total_created"] == 1
    assert state.get_list(LIST)["stats"]["member_count"] == 1
    other = state.add_audience("Second audience")
    assert len(other) == 10 and state.get_list(other)["stats"]["member_count"] == 0
    with pytest.raises(ValueError):
        Faults().add("teapot")


# -- reset ----------------------------------------------------------------------------

def test_reset_empties_the_sandbox_and_its_faults_on_the_same_port() -> None:
    server = serve(SandboxState(merge_field_limit=4))
    try:
        api = sdk(server)
        api.lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
        extra = server.state.add_audience("Second")
        server.state.merge_field_limit = 99
        server.faults.latency = 0.2
        server.faults.add(503, path_contains="/ping", times=None)
        address = server.url
        answer = requests.post(f"{server.base_url}/_sandbox/reset", timeout=5)
        assert (answer.status_code, answer.json()) == (200, {"reset": True})
        assert server.url == address and server.state.public_url == server.base_url
        assert server.state.member_count(LIST) == 0
        assert extra not in server.state.audiences and server.state.default_list_id == LIST
        assert server.state.merge_field_limit == 4  # as made, not as changed since
        assert (server.faults.latency, server.faults.pending) == (0.0, 0)
        assert server.state.call_count() == 0
        assert api.ping.get() == {"health_status": "Everything's Chimpy!"}  # no fault left
        assert server.state.call_count() == 1
    finally:
        server.stop()


def test_a_reset_of_a_saved_sandbox_saves_it_empty(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    with serve(SandboxState(path, save_delay=0)) as server:
        sdk(server).lists.batch_list_members(LIST, {"members": [member("ann@union.org")]})
        server.state.flush()
        assert "ann@union.org" in path.read_text()
        server.reset()
        server.state.flush()
    assert "ann@union.org" not in path.read_text()
    assert SandboxState(path).member_count(LIST) == 0
