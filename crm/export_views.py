"""The contact export page: pick fields for the current list and download it as CSV."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask import Flask, Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from . import exports, listing
from .access import require
from .current import db_session as _session
from .current import segment_clock
from .errors import CRMError, ValidationFailed
from .models import EMAIL_STATUSES
from .segments import service as segment_service
from .views import bp

if TYPE_CHECKING:
    from .extension import CRMState



@bp.route("/contacts/export")
@require("view")
def contact_export() -> ResponseReturnValue:
    """Offer the fields for the list's filters or a segment; with fields chosen, stream the CSV."""
    flt = listing.ContactFilter.from_query(request.args)
    chosen = request.args.getlist("fields")
    session = _session()
    if not chosen and "download" not in request.args:
        return _form(flt, list(exports.DEFAULT_FIELDS))
    try:
        chunks = exports.csv_chunks(session, flt, chosen, clock=segment_clock())
    except CRMError as exc:
        session.rollback()
        messages = exc.errors.values() if isinstance(exc, ValidationFailed) else [exc.message]
        return _form(flt, chosen, errors=list(messages), status=400)
    # A GET that changes nothing: bookmarkable, no CSRF; streamed so memory stays flat.
    response = Response(stream_with_context(chunks), content_type="text/csv; charset=utf-8")
    filename = f"contacts-{date.today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _form(flt: listing.ContactFilter, chosen: list[str], *, errors: list[str] | None = None,
          status: int = 200) -> ResponseReturnValue:
    fields = exports.available_fields(_session())
    return render_template("crm/export/form.html", flt=flt, fields=fields,
                           labels=exports.EXPORT_FIELDS, chosen=set(chosen),
                           statuses=EMAIL_STATUSES, errors=errors or [],
                           segments=segment_service.all_segments(_session())), status


def install(app: Flask, state: CRMState) -> None:
    """Nothing to add: the export page attaches to the blueprint when imported."""
