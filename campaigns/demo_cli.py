"""``flask campaigns demo``: what a new user needs to try campaigns on the demo data."""

from __future__ import annotations

import click

from crm.current import db_session

from . import demo
from .cli import campaigns_cli


@campaigns_cli.command("demo")
def demo_command() -> None:
    """Add demo segments, a suppression group and a second organizer (once)."""
    session = db_session()
    try:
        outcome = demo.load(session)
    except Exception:
        session.rollback()
        raise
    session.commit()
    for name in outcome.segments:
        click.echo(f"Created the segment {name!r}.")
    if outcome.suppressed:
        click.echo(f"Put {outcome.suppressed} contacts in the group {demo.SUPPRESSION!r}.")
    if outcome.organizer_password:
        click.echo(f"Created organizer {demo.ORGANIZER} with password: "
                   f"{outcome.organizer_password}")
        click.echo("They approve chip-in appeals the admin writes. The password is shown "
                   "only this once.")
    if not (outcome.segments or outcome.suppressed or outcome.organizer_password):
        click.echo("The campaigns demo is set up already.")
