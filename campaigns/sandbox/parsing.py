"""Reading a request: its JSON body and its whole-number query arguments, Mailchimp's way."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request

from .model import SandboxProblem, field_invalid


def json_body(request: Request) -> Any:
    """Return the request's JSON body ({} when empty), or raise Mailchimp's parse problem."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise SandboxProblem(400, "Bad Request",
                             "We encountered an unspecified JSON parsing error.") from None


def int_arg(request: Request, name: str, default: int, maximum: int | None = None) -> int:
    """Return a non-negative integer query argument, or raise a 400 problem."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise field_invalid(name, f"{name} should be a whole number.") from None
    if value < 0 or (maximum is not None and value > maximum):
        raise field_invalid(name, f"{name} should be between 0 and {maximum or 'any'}.")
    return value
