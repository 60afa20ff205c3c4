"""Security headers for every page the CRM serves (the pages use no inline script or style)."""

from __future__ import annotations

from flask import Response, abort, request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def add_security_headers(response: Response) -> Response:
    """Add the headers unless the host already set its own."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def reject_nul_bytes() -> None:
    """Refuse input carrying NUL characters: PostgreSQL cannot store them in text."""
    values = [*request.args.values(), *request.form.values(), request.path]
    body = request.get_data(cache=True) if request.is_json else b""
    if any("\x00" in value for value in values) or b"\x00" in body or b"\\u0000" in body:
        abort(400, "Text may not contain NUL characters.")
