"""The gateway over the real SDK: errors in one shape, retries, the connection cap."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from campaigns import throttle
from campaigns.mailchimp import Gateway, MailchimpConfig, server_from_key, subscriber_hash
from campaigns.mailchimp_errors import (
    MailchimpError,
    from_network,
    from_sdk,
    from_status_and_body,
)
from campaigns.sandbox import SandboxServer


class FakeSdkError(Exception):
    """The SDK's ApiClientError has exactly these two attributes."""

    def __init__(self, text: Any, status_code: int | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.status_code = status_code


PROBLEM = {"type": "https://mailchimp.com/developer/marketing/docs/errors/",
           "title": "Invalid Resource", "status": 400, "detail": "Your merge fields were invalid.",
           "instance": "abc", "errors": [{"field": "ADDRESS", "message": "Enter a full address."}]}


def gateway(server: SandboxServer, **overrides: Any) -> Gateway:
    config = dict(api_key=f"k{time.monotonic_ns()}-us1", audience_id=server.list_id,
                  server="us1", host=server.url, timeout=2.0,
                  retry=throttle.RetryPolicy(attempts=4, base_seconds=0.001))
    config.update(overrides)
    return Gateway(MailchimpConfig(**config))


def test_problem_json_as_dict_or_string_gives_the_same_error() -> None:
    import json

    as_dict = from_sdk(FakeSdkError(PROBLEM, 400))
    as_text = from_sdk(FakeSdkError(json.dumps(PROBLEM), 400))
    assert as_dict == as_text
    assert (as_dict.status, as_dict.title) == (400, "Invalid Resource")
    assert as_dict.errors == [{"field": "ADDRESS", "message": "Enter a full address."}]
    assert "ADDRESS: Enter a full address." in str(as_dict)
    assert not as_dict.retryable


def test_network_errors_bare_403_and_html_pages_are_explained() -> None:
    import requests

    timeout = from_sdk(FakeSdkError(requests.exceptions.ReadTimeout("read timed out")))
    assert timeout.status is None and timeout.timed_out and timeout.retryable
    refused = from_network(ConnectionRefusedError("refused"))
    assert refused.title == "Connection failed" and refused.retryable
    bare = from_status_and_body(403, "")
    assert bare.status == 403 and "high load" in bare.detail and not bare.retryable
    html = from_status_and_body(502, "<html><body>Bad gateway</body></html>")
    assert html.retryable and "HTML" in html.detail
    # The HTTP status wins over one a body claims.
    assert from_status_and_body(422, {"title": "x", "status": 404}).status == 422


def test_key_suffix_names_the_data_centre_and_hash_is_of_the_lowercased_email() -> None:
    assert server_from_key("0123abcd-us6") == "us6"
    assert server_from_key("nodash") == ""
    assert MailchimpConfig(api_key="x-us19", audience_id="a").data_centre == "us19"
    assert subscriber_hash(" Ana@Example.ORG ") == subscriber_hash("ana@example.org")


def test_calls_reach_the_sandbox_through_the_sdk(sandbox: SandboxServer) -> None:
    gw = gateway(sandbox)
    assert gw.ping()
    audience = gw.audience()
    assert audience.id == sandbox.list_id and audience.member_count == 0
    result = gw.batch_upsert([{"email_address": "ana@union.org", "status": "subscribed",
                               "merge_fields": {"FNAME": "Ana"}},
                              {"email_address": "test@example.com", "status": "subscribed"}])
    assert result.new == ["ana@union.org"]
    assert [e.email for e in result.errors] == ["test@example.com"]
    member = gw.member("ANA@union.org")
    assert member is not None and member.merge_fields["FNAME"] == "Ana"
    assert gw.member("nobody@union.org") is None
    assert sandbox.state.call_count() == gw.calls


@pytest.mark.parametrize("kind", ["429", "500", "503", "drop", "html502"])
def test_transient_failures_are_retried(sandbox: SandboxServer, kind: str) -> None:
    gw = gateway(sandbox)
    sandbox.faults.add(kind, path_contains="/ping", times=2)
    assert gw.ping()
    assert gw.calls == 3


def test_timeouts_are_retried_and_give_up_after_the_attempts(sandbox: SandboxServer) -> None:
    gw = gateway(sandbox, timeout=0.3)
    sandbox.faults.timeout_sleep = 0.6
    sandbox.faults.add("timeout", path_contains="/ping", times=1)
    assert gw.ping()
    sandbox.faults.add("500", path_contains="/ping", times=10)
    with pytest.raises(MailchimpError) as caught:
        gw.ping()
    assert caught.value.status == 500 and gw.calls == 2 + 4


@pytest.mark.parametrize("kind", ["bare403"])
def test_client_errors_are_not_retried(sandbox: SandboxServer, kind: str) -> None:
    gw = gateway(sandbox)
    sandbox.faults.add(kind, path_contains="/ping", times=3)
    with pytest.raises(MailchimpError) as caught:
        gw.ping()
    assert caught.value.status == 403 and gw.calls == 1
    with pytest.raises(MailchimpError) as missing:
        gateway(sandbox, audience_id="nosuchlist").audience()
    assert missing.value.status == 404 and missing.value.title


def test_creating_is_not_retried_after_a_lost_answer(sandbox: SandboxServer) -> None:
    gw = gateway(sandbox)
    sandbox.faults.add("drop_after", path_contains="/merge-fields", method="POST")
    with pytest.raises(MailchimpError):
        gw.create_merge_field("ASK1", "Ask 1", "text")
    # Mailchimp made it once; a blind retry would have made a second or failed.
    assert [f.tag for f in gw.merge_fields()].count("ASK1") == 1


def test_backoff_is_capped_exponential_with_jitter() -> None:
    policy = throttle.RetryPolicy(attempts=8, base_seconds=0.5, cap_seconds=4.0)
    assert [policy.delay(n, lambda: 1.0) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay(3, lambda: 0.25) == 1.0


def test_calls_in_flight_per_key_never_pass_the_cap() -> None:
    slots = throttle.slots_for("cap-test-key", 3)
    assert throttle.slots_for("cap-test-key", 10) is slots  # a larger wish cannot widen it
    inside, peak, lock = 0, 0, threading.Lock()

    def call() -> None:
        nonlocal inside, peak
        with lock:
            inside += 1
            peak = max(peak, inside)
        time.sleep(0.02)
        with lock:
            inside -= 1

    threads = [threading.Thread(target=throttle.call_with_retries,
                                args=(call, throttle.RetryPolicy(), slots)) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 3
    assert throttle.slots_for("other-key", 50) is not slots


def test_the_cap_holds_for_parallel_calls_through_the_sandbox(sandbox: SandboxServer) -> None:
    gw = gateway(sandbox, max_connections=2)
    sandbox.faults.latency = 0.05
    active, peak, lock = 0, 0, threading.Lock()
    real = gw._client

    def counting_client() -> Any:
        client = real()
        ping = client.ping.get

        class Wrapped:
            def get(self) -> Any:
                nonlocal active, peak
                with lock:
                    active += 1
                    peak = max(peak, active)
                try:
                    return ping()
                finally:
                    with lock:
                        active -= 1

        client.ping = Wrapped()
        return client

    gw._client = counting_client  # type: ignore[method-assign]
    threads = [threading.Thread(target=gw.ping) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2 and sandbox.state.call_count(path_contains="/ping") == 8
