"""Run the sandbox on a local port in a background thread: ``with serve() as sandbox: ...``."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from .app import SandboxApp
from .faults import Faults
from .model import DEFAULT_LIST_ID
from .state import SandboxState


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without per-request log lines, counting calls in flight."""

    server: _Server

    def handle(self) -> None:
        """Handle one connection, tracked so ``stop`` can let it finish."""
        with self.server.in_flight_lock:
            self.server.in_flight += 1
        try:
            super().handle()
        finally:
            with self.server.in_flight_lock:
                self.server.in_flight -= 1

    def connection_dropped(self, error: BaseException,
                           environ: dict[str, Any] | None = None) -> None:
        """Close the connection instead of waiting for another request on it."""
        # Without this, keep-alive would make the server read a next request line that the
        # client, still waiting for an answer, never sends.
        self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing: a sync makes thousands of calls."""


class _Server(ThreadedWSGIServer):
    """What ``make_server(..., threaded=True)`` builds, plus a count of connections open."""

    def __init__(self, host: str, port: int, app: SandboxApp) -> None:
        self.in_flight = 0
        self.in_flight_lock = threading.Lock()
        super().__init__(host, port, app, handler=_QuietHandler)


class SandboxServer:
    """A running sandbox: its ``url`` (ending in /3.0), ``port``, ``state`` and ``faults``."""

    def __init__(self, state: SandboxState, faults: Faults, host: str, port: int,
                 poll_interval: float = 0.1) -> None:
        self.state = state
        self.faults = faults
        self.app = SandboxApp(state, faults)
        server = _Server(host, port, self.app)
        self._server = server
        self.host = host
        self.port = server.port
        # Links in the mail it sends (unsubscribe) lead back to this server.
        reachable = "127.0.0.1" if host in ("0.0.0.0", "") else host
        state.public_url = f"http://{reachable}:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": poll_interval},
                                        name=f"mailchimp-sandbox-{self.port}", daemon=True)
        self._stopped = False

    @property
    def base_url(self) -> str:
        """Return the server's root, without the /3.0 API prefix."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """Return the API root a Mailchimp client should use as its host."""
        return f"{self.base_url}/3.0"

    @property
    def stopped(self) -> bool:
        """Tell whether ``stop`` was called."""
        return self._stopped

    @property
    def list_id(self) -> str:
        """Return the default audience's id."""
        return self.state.default_list_id

    def start(self) -> SandboxServer:
        """Start answering in a background thread."""
        self._thread.start()
        return self

    def reset(self) -> None:
        """Empty the sandbox and forget its faults, as a new one would be (on the same port)."""
        self.state.reset()
        self.faults.reset()

    def fire_status_change(self, email: str, status: str, reason: str = "",
                           source: str = "user",
                           list_id: str | None = None) -> list[dict[str, Any]]:
        """Change a member's status as if they did it in Mailchimp, and deliver webhooks."""
        return self.state.fire_status_change(email, status, reason, source, list_id)

    def stop(self, wait: float = 10.0) -> None:
        """Stop accepting calls, let calls in flight finish (up to ``wait`` s), save state."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        deadline = time.monotonic() + wait
        while self._server.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        self._server.server_close()
        self.state.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def serve(state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0,
          faults: Faults | None = None, poll_interval: float = 0.1) -> SandboxServer:
    """Start a sandbox Mailchimp on ``host:port`` (0 picks a free port) and return it.

    ``poll_interval`` is how often the server looks for a stop: ``stop`` waits up to that.
    """
    return SandboxServer(state if state is not None else SandboxState(),
                         faults if faults is not None else Faults(), host, port,
                         poll_interval).start()


__all__ = ["DEFAULT_LIST_ID", "SandboxServer", "serve"]
