"""The ``flask crm segment-count`` command: count a text query or a saved segment."""

from __future__ import annotations

import click

from . import segments
from .cli import crm_cli
from .current import db_session as _session
from .current import segment_clock
from .errors import CRMError
from .formatting import pointer
from .models import Segment
from .segments import service as segment_service
from .segments.errors import SegmentError


def _saved(name_or_id: str) -> Segment:
    """Return the segment with this name, else with this id."""
    session = _session()
    try:
        found = segment_service.find_by_name(session, name_or_id)
    except CRMError:
        found = None
    if found is None and name_or_id.isascii() and name_or_id.isdigit():
        found = session.get(Segment, int(name_or_id)) if int(name_or_id) < 2**31 else None
    if found is None:
        raise click.ClickException(f"No segment is called or numbered {name_or_id}.")
    return found


def _explain(error: SegmentError, text: str | None) -> str:
    """Return the error's message with the query line and a caret under the position."""
    if text is None or not isinstance(error.position, int):
        return error.message
    line, caret = pointer(text, error.position)
    return f"{error.message}\n  {line}\n  {caret}"


@crm_cli.command("segment-count")
@click.argument("text", required=False)
@click.option("--segment", "saved", metavar="NAME_OR_ID", help="Count a saved segment.")
def segment_count(text: str | None, saved: str | None) -> None:
    """Print how many contacts match a query TEXT (or a saved segment) and its canonical text."""
    if (text is None) == (saved is None):
        raise click.UsageError('Give a query, as in segment-count "state = WI", or '
                               "--segment NAME_OR_ID; one of the two.")
    session = _session()
    try:
        if saved is not None:
            segment = _saved(saved)
            click.echo(f"Segment: #{segment.id} {segment.name}")
            rule = segment_service.rule_of(segment)
        else:
            rule = segments.parse_text(text or "")
        count = segments.count(session, rule, clock=segment_clock())
    except SegmentError as exc:
        raise click.ClickException(_explain(exc, text)) from None
    except segment_service.InvalidRule as exc:
        raise click.ClickException(f"The saved rule no longer reads: {exc.error.message}") from None
    finally:
        session.rollback()  # only read; end the transaction
    click.echo(f"Count: {count}")
    click.echo(f"Query: {segments.to_text(rule)}")
