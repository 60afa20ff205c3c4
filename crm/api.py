"""The JSON API under ``<prefix>/api/v1``: contacts and tags, with Bearer-token auth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_smorest import Api, Blueprint, abort
from marshmallow import RAISE
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from . import access, contacts, listing, staff
from .api_schemas import (
    ContactCreateSchema,
    ContactListArgsSchema,
    ContactPageSchema,
    ContactPatchSchema,
    ContactSchema,
    MeSchema,
    TagsSchema,
    UpsertArgsSchema,
)
from .current import db_session as _session
from .errors import AuthError, CRMError, ValidationFailed

api_bp = Blueprint("crm_api", __name__, description="Contacts, tags and who you are.")
BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
# POST endpoints that change nothing (such as a preview), which a role that may view may call.
_READ_ONLY: set[str] = set()
F = TypeVar("F", bound=Callable[..., Any])


def read_only(view: F) -> F:
    """Mark a POST endpoint as changing nothing, so viewers may call it."""
    _READ_ONLY.add(f"{api_bp.name}.{view.__name__}")
    return view


class PluginApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, kept from installing app-wide error handlers in the host."""

    def _register_error_handlers(self) -> None:
        # The host owns its error pages; the API blueprint handles its own errors below.
        return None



def _problem(status: int, detail: str, errors: dict[str, list[str]] | None = None) -> Any:
    body: dict[str, Any] = {"status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    return response


@api_bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    data = getattr(exc, "data", None) or {}
    errors: dict[str, list[str]] = {}
    for location_errors in (data.get("messages") or {}).values():
        if isinstance(location_errors, dict):
            for name, messages in location_errors.items():
                errors[name] = messages if isinstance(messages, list) else [str(messages)]
    detail = data.get("message") or exc.description or exc.name
    response = _problem(exc.code or 500, str(detail), errors or None)
    if exc.code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="crm"'
    return response


@api_bp.errorhandler(CRMError)
def _domain_error(exc: CRMError) -> ResponseReturnValue:
    _session().rollback()
    if isinstance(exc, ValidationFailed):
        return _problem(422, exc.message, {k: [v] for k, v in exc.errors.items()})
    return _problem(exc.status_code, exc.message)


@api_bp.errorhandler(StaleDataError)
def _changed_meanwhile(_exc: StaleDataError) -> ResponseReturnValue:
    # A compare-and-set lost: another request changed the same row first.
    _session().rollback()
    return _problem(409, "Someone else changed this at the same moment: reload it and try "
                         "again.")


@api_bp.errorhandler(RecursionError)
def _too_deep(_exc: RecursionError) -> ResponseReturnValue:
    # Only the JSON reader recurses with the input: a body nested past its reach.
    _session().rollback()
    return _problem(400, "The JSON body nests too deeply.")


@api_bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    if request.endpoint == "crm_api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            abort(401, message="Use Authorization: Bearer <token>.")
        try:
            row = staff.verify_token(_session(), token.strip())
        except AuthError:
            _session().rollback()
            abort(401, message="Invalid API token.")
        user = current_app.extensions["crm"].user_loader(row.user_id)
        _session().commit()
        if user is None or not getattr(user, "is_active", True):
            abort(401, message="The token's account is disabled.")
        g.crm_api_user = user
    elif access.current_staff() is not None:
        # A logged-in page calling the API carries a session cookie, so it needs CSRF.
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            current_app.extensions["crm"].csrf.protect()
    else:
        abort(401, message="Log in or send an API token.")
    reads = request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in _READ_ONLY
    needed = "view" if reads else "edit"
    if not access.can(needed):
        abort(403, message="Your role cannot do this.")
    return None


def _actor() -> str:
    return access.actor_label()


def _region() -> str:
    return str(current_app.config["CRM_PHONE_REGION"])


@api_bp.route("/me")
@api_bp.response(200, MeSchema)
def me() -> dict[str, Any]:
    """Who this token or session belongs to, and its role."""
    user = access.current_staff()
    return {"actor": access.actor_label(user), "role": access.role_of(user)}


@api_bp.route("/contacts")
@api_bp.arguments(ContactListArgsSchema, location="query", unknown=RAISE)
@api_bp.response(200, ContactPageSchema)
def contact_list(args: dict[str, Any]) -> dict[str, Any]:
    """List contacts, filtered, by name, with cursor pagination."""
    flt = listing.ContactFilter(query=args.get("q", ""), tag=args.get("tag", ""),
                                state=args.get("state", ""),
                                email_status=args.get("email_status", ""))
    result = listing.page(_session(), flt, cursor=args.get("cursor"), limit=args["limit"])
    return {"items": result.items, "next_cursor": result.next_cursor}


@api_bp.route("/contacts", methods=["POST"])
@api_bp.arguments(UpsertArgsSchema, location="query", unknown=RAISE)
@api_bp.arguments(ContactCreateSchema)
@api_bp.response(201, ContactSchema)
@api_bp.alt_response(200, schema=ContactSchema, description="Updated (with ?upsert=1)")
@api_bp.alt_response(409, description="Another contact has this email")
def contact_create(query: dict[str, Any], body: dict[str, Any]) -> Any:
    """Create a contact, or with ``?upsert=1`` update the one with the same email."""
    session = _session()
    if query["upsert"]:
        contact, created = contacts.upsert(session, body, actor=_actor(), method="api",
                                           region=_region())
    else:
        contact, created = contacts.create(session, body, actor=_actor(), method="api",
                                           region=_region()), True
    session.commit()
    return contact, 201 if created else 200


@api_bp.route("/contacts/<int(max=2147483647):contact_id>")
@api_bp.response(200, ContactSchema)
def contact_get(contact_id: int) -> Any:
    """Get one contact (a merged duplicate redirects to the surviving contact)."""
    survivor_id = contacts.merged_into(_session(), contact_id)
    if survivor_id is not None:
        return redirect(url_for("crm_api.contact_get", contact_id=survivor_id), code=301)
    return contacts.get(_session(), contact_id)


@api_bp.route("/contacts/<int(max=2147483647):contact_id>", methods=["PATCH"])
@api_bp.arguments(ContactPatchSchema)
@api_bp.response(200, ContactSchema)
def contact_update(body: dict[str, Any], contact_id: int) -> Any:
    """Change some fields of a contact; fields left out keep their values."""
    contact = contacts.update(_session(), contact_id, body, actor=_actor(), method="api",
                              region=_region())
    _session().commit()
    return contact


@api_bp.route("/contacts/<int(max=2147483647):contact_id>", methods=["DELETE"])
@api_bp.response(204)
def contact_delete(contact_id: int) -> None:
    """Delete a contact (its email and consent are kept so an opt-out is never lost)."""
    contacts.delete(_session(), contact_id, actor=_actor())
    _session().commit()


@api_bp.route("/contacts/<int(max=2147483647):contact_id>/tags", methods=["POST"])
@api_bp.arguments(TagsSchema)
@api_bp.response(200, ContactSchema)
def contact_tags_add(body: dict[str, Any], contact_id: int) -> Any:
    """Add tags to a contact."""
    contact = contacts.change_tags(_session(), contact_id, add=body["tags"], actor=_actor())
    _session().commit()
    return contact


@api_bp.route("/contacts/<int(max=2147483647):contact_id>/tags/<path:name>", methods=["DELETE"])
@api_bp.response(200, ContactSchema)
def contact_tags_remove(contact_id: int, name: str) -> Any:
    """Remove a tag from a contact."""
    contact = contacts.change_tags(_session(), contact_id, remove=[name], actor=_actor())
    _session().commit()
    return contact


@api_bp.route("/openapi.json")
def openapi() -> ResponseReturnValue:
    """Serve the OpenAPI document generated from the schemas above."""
    return jsonify(current_app.extensions["crm"].api.spec.to_dict())


def init_api(app: Any, url_prefix: str) -> PluginApi:
    """Create the app's Api object and register the API blueprint on it."""
    api = PluginApi(config_prefix="CRM_", spec_kwargs={"security": [{"bearerAuth": []}]})
    api.init_app(app)
    api.spec.components.security_scheme("bearerAuth", BEARER["bearerAuth"])
    api.register_blueprint(api_bp, url_prefix=url_prefix)
    return api


def protect(blueprint: Blueprint) -> None:
    """Give another package's API blueprint this API's auth, role checks and JSON errors."""
    blueprint.before_request(_authenticate)
    blueprint.errorhandler(HTTPException)(_http_error)
    blueprint.errorhandler(CRMError)(_domain_error)
    blueprint.errorhandler(RecursionError)(_too_deep)
    blueprint.errorhandler(StaleDataError)(_changed_meanwhile)
