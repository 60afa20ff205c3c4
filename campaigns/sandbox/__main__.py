"""Run the sandbox Mailchimp in the foreground: ``python -m campaigns.sandbox --port 8025``."""

from __future__ import annotations

import argparse
import signal
import threading

from .faults import Faults
from .server import serve
from .state import SandboxState


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m campaigns.sandbox",
                                     description="A local stand-in for the Mailchimp API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--data", metavar="FILE",
                        help="keep the sandbox's data in this JSON file across restarts")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="add this many milliseconds to every API call")
    parser.add_argument("--no-webhook-check", action="store_true",
                        help="register webhooks without Mailchimp's validating GET")
    args = parser.parse_args(argv)
    # Started in the background by a script, a process inherits an ignored Ctrl+C: take it
    # back, and let a plain kill (SIGTERM) stop it as cleanly, saving the data file.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    state = SandboxState(args.data, validate_webhooks=not args.no_webhook_check)
    sandbox = serve(state, args.host, args.port, Faults(latency=args.latency_ms / 1000))
    print(f"Sandbox Mailchimp at {sandbox.url} (audience {sandbox.list_id}); "
          "any API key works. Ctrl+C stops it.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
