"""The sandbox as a WSGI app: auth, the call log, latency and faults around the routing table."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .faults import Faults
from .model import SandboxProblem, not_found
from .routes import ADMIN_ROUTES, API_ROUTES, Route
from .state import SandboxState

API_PREFIX = "/3.0"
ADMIN_PREFIX = "/_sandbox"
MAX_CONNECTIONS = 10  # simultaneous calls Mailchimp allows per API key
JSON = "application/json; charset=utf-8"
PROBLEM = "application/problem+json; charset=utf-8"
_log = logging.getLogger(__name__)

_FAULT_PROBLEMS = {
    "429": SandboxProblem(429, "Too Many Requests", "You have exceeded the limit of 10 "
                          "simultaneous connections."),
    "500": SandboxProblem(500, "Internal Server Error", "An unexpected internal error has "
                          "occurred. Please contact Support for more information."),
    "503": SandboxProblem(503, "Service Unavailable", "The service is temporarily unavailable; "
                          "please try again later."),
    "timeout": SandboxProblem(504, "Gateway Timeout", "The request took too long."),
}
_HTML_502 = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
             "Gateway</h1></center><hr><center>nginx</center></body></html>")


class DropConnection(ConnectionAbortedError):
    """Raised to end a call with no answer; the server closes the connection on it."""


def json_response(status: int, body: Any) -> Response:
    """Return a JSON response, or an empty one for 204."""
    if body is None:
        return Response(status=status)
    return Response(json.dumps(body), status=status, content_type=JSON)


def problem_response(problem: SandboxProblem, instance: str | None = None) -> Response:
    """Return a problem+json response."""
    return Response(json.dumps(problem.body(instance)), status=problem.status,
                    content_type=PROBLEM)


def _url_map(routes: list[Route]) -> Map:
    # No redirects for a trailing slash: an API client would not follow them.
    return Map([Rule(rule, methods=[method], endpoint=index)
                for index, (method, rule, _handler) in enumerate(routes)],
               strict_slashes=False)


class SandboxApp:
    """WSGI app serving the Mailchimp API under /3.0 and the sandbox's own under /_sandbox."""

    def __init__(self, state: SandboxState | None = None, faults: Faults | None = None) -> None:
        self.state = state if state is not None else SandboxState()
        self.faults = faults if faults is not None else Faults()
        self._api = (API_ROUTES, _url_map(API_ROUTES))
        self._admin = (ADMIN_ROUTES, _url_map(ADMIN_ROUTES))
        # Calls in flight per API key (the Authorization header), as Mailchimp limits them.
        self._in_flight: dict[str, int] = {}
        self._flight_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        path = request.path
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            response = self._api_call(request, path[len(API_PREFIX):] or "/")
        elif path == ADMIN_PREFIX + "/reset" and request.method == "POST":
            # Back to an empty sandbox without a restart, as between two test cases.
            self.state.reset()
            self.faults.reset()
            response = json_response(200, {"reset": True})
        elif path.startswith(ADMIN_PREFIX + "/"):
            response = self._dispatch(self._admin, request, path[len(ADMIN_PREFIX):])
        else:
            response = problem_response(not_found())
        return response(environ, start_response)

    def _api_call(self, request: Request, subpath: str) -> Response:
        record = self.state.record_call(request.method, request.path,
                                        request.query_string.decode("latin-1"))
        key = request.headers.get("Authorization", "")
        if not key.startswith(("Basic ", "Bearer ")):
            record.status = 401
            return problem_response(SandboxProblem(
                401, "API Key Missing", "Your request did not include an API key."))
        with self._flight_lock:
            busy = self._in_flight.get(key, 0)
            if busy < MAX_CONNECTIONS:
                self._in_flight[key] = busy + 1
        if busy >= MAX_CONNECTIONS:
            # Mailchimp answers a key's eleventh simultaneous call with 429.
            record.status = 429
            return problem_response(SandboxProblem(
                429, "Too Many Requests", f"You have exceeded the limit of {MAX_CONNECTIONS} "
                "simultaneous connections."))
        try:
            return self._answer(request, subpath, record)
        finally:
            with self._flight_lock:
                self._in_flight[key] -= 1

    def _answer(self, request: Request, subpath: str, record: Any) -> Response:
        fault = self.faults.take(request.method, request.path)
        record.fault = fault
        if self.faults.latency > 0:
            time.sleep(self.faults.latency)
        if fault is not None and fault != "drop_after":
            response = self._fault_response(fault, request)
        else:
            response = self._dispatch(self._api, request, subpath)
        record.status = response.status_code
        if fault == "drop_after":
            self._drop(request)
        return response

    def _fault_response(self, fault: str, request: Request) -> Response:
        # The body is read first so that closing leaves a clean end of stream, not a reset.
        request.get_data()
        if fault == "drop":
            self._drop(request)
        if fault == "timeout":
            time.sleep(self.faults.timeout_sleep)
        if fault == "bare403":
            return Response(b"", status=403, content_type="text/plain")
        if fault == "html502":
            return Response(_HTML_502, status=502, content_type="text/html; charset=utf-8")
        return problem_response(_FAULT_PROBLEMS[fault])

    @staticmethod
    def _drop(request: Request) -> None:
        sock = request.environ.get("werkzeug.socket")
        if isinstance(sock, socket.socket):
            # The client may have gone already; all that matters is that nothing answers.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise DropConnection("sandbox fault: connection closed without an answer")

    def _dispatch(self, table: tuple[list[Route], Map], request: Request,
                  subpath: str) -> Response:
        routes, url_map = table
        adapter = url_map.bind("sandbox.localhost", path_info=subpath)
        try:
            index, arguments = adapter.match(subpath, method=request.method)
            result = routes[index][2](self.state, request, **arguments)
            if isinstance(result, Response):
                return result  # a page of the sandbox's own, such as the unsubscribe one
            status, body = result
            return json_response(status, body)
        except NotFound:
            return problem_response(not_found())
        except MethodNotAllowed:
            return problem_response(SandboxProblem(
                405, "Method Not Allowed", f"The {request.method} method is not allowed for "
                "this resource."))
        except SandboxProblem as problem:
            return problem_response(problem)
        except Exception as exc:
            # A sandbox bug must still answer like Mailchimp would, and be seen.
            _log.exception("sandbox failed on %s %s", request.method, request.path)
            return problem_response(SandboxProblem(
                500, "Internal Server Error", f"The sandbox failed: {exc.__class__.__name__}: "
                f"{exc}"), str(uuid.uuid4()))
