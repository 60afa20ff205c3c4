"""The ``flask campaigns`` commands: check, install-webhook, sync, reconcile, list and send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from crm import jobs as crm_jobs
from crm.current import db_session as _session
from crm.current import segment_clock
from crm.errors import CRMError, ValidationFailed
from crm.job_runner import run_now
from crm.segment_cli import _saved

from . import campaign_config, composing, connection, jobs, sending, sync
from .campaign_models import KINDS, STATUSES
from .mailchimp_errors import MailchimpError

campaigns_cli = AppGroup("campaigns", help="Email campaigns through Mailchimp.")
EVENTS = ["subscribe", "unsubscribe", "profile", "cleaned", "upemail", "campaign"]
SOURCES = ["user", "admin", "api"]


def _gateway() -> Any:
    try:
        return current_app.extensions["campaigns"].gateway(current_app)
    except connection.NotConfigured as exc:
        raise click.ClickException(str(exc)) from None


@campaigns_cli.command("check")
def check() -> None:
    """Ping Mailchimp and print the audience's name and member count."""
    gateway = _gateway()
    try:
        health = gateway.ping()
        audience = gateway.audience()
    except MailchimpError as exc:
        raise click.ClickException(f"Could not reach the audience: {exc}") from None
    where = "the sandbox Mailchimp (no API key set)" if gateway.sandbox else \
        f"Mailchimp ({gateway.config.data_centre})"
    click.echo(f"Connected to {where}: {health}")
    click.echo(f"Audience {audience.id}: {audience.name} — {audience.member_count:,} "
               f"subscribed, {audience.unsubscribe_count:,} unsubscribed, "
               f"{audience.cleaned_count:,} cleaned.")


def hook_url(base_url: str, app: Flask) -> str:
    """Return the full webhook URL under a public base URL."""
    prefix = app.extensions["crm"].url_prefix
    return f"{base_url.rstrip('/')}{prefix}/hooks/mailchimp/{connection.webhook_secret(app)}"


@campaigns_cli.command("install-webhook")
@click.argument("base_url")
def install_webhook(base_url: str) -> None:
    """Register this app's webhook (under BASE_URL, e.g. https://crm.example.org) in Mailchimp."""
    if not base_url.startswith(("https://", "http://")):
        raise click.UsageError("BASE_URL starts with https:// (the address Mailchimp can reach).")
    url = hook_url(base_url, current_app)
    gateway = _gateway()
    try:
        if any(h.url == url for h in gateway.webhooks()):
            click.echo("The webhook is already registered.")
            return
        gateway.add_webhook(url, EVENTS, SOURCES)
    except MailchimpError as exc:
        raise click.ClickException(f"Mailchimp refused the webhook: {exc}") from None
    click.echo(f"Registered the webhook for {', '.join(EVENTS)} events.")


def _run_job(kind: str, params: dict[str, Any], actor: str) -> Any:
    session = _session()
    job = crm_jobs.create(session, kind, params, started_by=actor)
    session.commit()
    done = run_now(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    if done.status != "succeeded":
        raise click.ClickException(f"{done.message} {done.error or ''}".strip())
    return done


@campaigns_cli.command("sync")
@click.option("--segment", "saved", metavar="NAME_OR_ID", help="Sync a saved segment.")
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
def sync_command(saved: str | None, dry_run: bool) -> None:
    """Push everyone emailable (or a segment) to the Mailchimp audience."""
    session = _session()
    gateway = _gateway()
    try:
        segment_id = _saved(saved).id if saved else None
        record = sync.create(session, audience_id=gateway.config.audience_id,
                             actor="command line", segment_id=segment_id)
    except CRMError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    sync_id = record.id
    _run_job(jobs.SYNC, {"sync_id": sync_id, "dry_run": dry_run}, "command line")
    record = sync.get(_session(), sync_id)
    if dry_run:
        plan = record.plan
        c = plan.get("counts", {})
        click.echo(f"Sync #{sync_id} (dry run): {plan.get('to_push', 0):,} to push — "
                   f"{c.get('add', 0):,} to add, {c.get('update', 0):,} to update, "
                   f"{c.get('unchanged', 0):,} unchanged, {c.get('skip', 0):,} skipped.")
        for reason, n in plan.get("reasons", {}).items():
            click.echo(f"  skipped, {reason}: {n:,}")
        for warning in plan.get("merge_fields", {}).get("warnings", []):
            click.echo(f"  warning: {warning}")
        return
    c = record.counts
    click.echo(f"Sync #{sync_id}: {c.get('added', 0):,} added, {c.get('updated', 0):,} updated, "
               f"{c.get('unchanged', 0):,} unchanged, {c.get('skipped', 0):,} skipped, "
               f"{c.get('errors', 0):,} to review, {c.get('calls', 0):,} calls.")


@campaigns_cli.command("reconcile")
def reconcile_command() -> None:
    """Apply the status changes Mailchimp made since the last run (for cron)."""
    counts = _run_job(jobs.RECONCILE, {}, "command line").result
    click.echo(f"Reconciled: {counts.get('applied', 0):,} changes applied from "
               f"{counts.get('examined', 0):,} members Mailchimp changed; "
               f"{counts.get('kept', 0):,} opt-outs made here kept, "
               f"{counts.get('unknown', 0):,} addresses we do not have.")


def _says(exc: CRMError) -> str:
    """Return a service error in words (a ValidationFailed's field messages)."""
    if isinstance(exc, ValidationFailed):
        return " ".join(exc.errors.values())
    return exc.message


def _when(campaign: Any) -> str:
    if campaign.sent_at is not None:
        return f"{campaign.sent_at:%Y-%m-%d %H:%M} UTC"
    if campaign.send_at is not None:
        return f"at {campaign.send_at:%Y-%m-%d %H:%M} UTC"
    return "—"


@campaigns_cli.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only campaigns in this status.")
@click.option("--kind", type=click.Choice(KINDS), help="Only campaigns of this kind.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
def list_command(status: str | None, kind: str | None, limit: int) -> None:
    """List campaigns, newest first: id, status, kind, audience, sent and name."""
    rows, more = composing.listing(_session(), status=status or "", kind=kind or "",
                                   limit=limit)
    if not rows:
        click.echo("No campaigns.")
        return
    click.echo(f"{'ID':>5}  {'STATUS':<10} {'KIND':<15} {'AUDIENCE':>8}  {'SENT':<22} NAME")
    for c in rows:
        included = (c.audience or {}).get("included")
        shown = f"{included:,}" if isinstance(included, int) else "—"
        click.echo(f"{c.id:>5}  {c.status:<10} {c.kind:<15} {shown:>8}  {_when(c):<22} "
                   f"{c.name}")
    if more is not None:
        click.echo(f"(more: use --limit to see past #{rows[-1].id})")


def _parse_at(text: str) -> datetime:
    """Read --at: ISO 8601; a time without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter("use ISO 8601 in UTC, like 2026-11-29T15:30Z.",
                                 param_hint="--at") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@campaigns_cli.command("send")
@click.argument("campaign_id", type=int)
@click.option("--at", "at", metavar="ISO", help="Schedule for this UTC quarter hour instead "
              "of sending now, e.g. 2026-11-29T15:30Z.")
def send_command(campaign_id: int, at: str | None) -> None:
    """Send a ready (or approved) campaign now, or schedule it, and wait for the outcome."""
    when = _parse_at(at) if at else None
    session = _session()
    try:
        campaign = composing.get(session, campaign_id)
        sending.request_send(campaign, actor="command line", when=when,
                             drift=campaign_config.approval_drift(current_app),
                             clock=segment_clock())
    except CRMError as exc:
        session.rollback()
        raise click.ClickException(_says(exc)) from None
    job = crm_jobs.create(session, jobs.SEND, {"campaign_id": campaign_id},
                          started_by="command line")
    campaign.job_id = job.id
    session.commit()
    click.echo(f"Campaign #{campaign_id}: syncing {campaign.audience.get('included', 0):,} "
               "recipients to Mailchimp and sending…")
    done = run_now(current_app._get_current_object(), job.id)  # type: ignore[attr-defined]
    session.expire_all()
    campaign = composing.get(session, campaign_id)
    if campaign.status == "sent":
        click.echo(f"Sent to {campaign.audience.get('included', 0):,} recipients "
                   f"(Mailchimp campaign {campaign.mc_campaign_id}).")
    elif campaign.status == "scheduled":
        click.echo(f"Scheduled for {campaign.send_at:%Y-%m-%d %H:%M} UTC, to "
                   f"{campaign.audience.get('included', 0):,} recipients (Mailchimp campaign "
                   f"{campaign.mc_campaign_id}).")
    else:
        reason = campaign.failure or done.error or done.message
        raise click.ClickException(f"Campaign #{campaign_id} is {campaign.status}: {reason} "
                                   f"Run `flask campaigns send {campaign_id}` again to resume.")


def register(app: Flask) -> None:
    """Add the ``campaigns`` command group to the app's CLI."""
    app.cli.add_command(campaigns_cli)
