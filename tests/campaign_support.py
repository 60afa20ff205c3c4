"""Shared pieces of the campaign tests: a small organization, a ready campaign, a send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from campaigns import campaign_config, composing, send_job, sending
from campaigns.campaign_models import Campaign
from crm import contacts, donations, groups
from crm.segments import service as segments
from tests.mailchimp_support import Reporter, gateway_of

AUTHOR = "writer@testorg.org"
APPROVER = "boss@testorg.org"


@dataclass
class World:
    """The contacts of a small organization, by name, and its segment of everyone."""

    ids: dict[str, int] = field(default_factory=dict)
    segment_id: int = 0


def seed(session: Session) -> World:
    """Make donors, a never-giver, opt-outs and a suppressed contact; one segment of all."""
    world = World()
    people: list[tuple[str, str, dict[str, Any], list[int]]] = [
        ("ana", "ana@union.org", {"first_name": "Ana", "last_name": "Ruiz"}, [2000, 1000]),
        ("ben", "ben@union.org", {"first_name": "Ben"}, [10000]),
        ("cy", "cy@union.org", {"first_name": "Cy"}, []),
        ("dee", "dee@union.org", {"first_name": "Dee & <Co>"}, [500]),
        ("gone", "gone@union.org", {"email_status": "unsubscribed"}, [2500]),
        ("bounced", "bounced@union.org", {"email_status": "cleaned"}, []),
        ("quiet", "quiet@union.org", {"first_name": "Quinn"}, []),
    ]
    for key, email, fields, gifts in people:
        contact = contacts.create(session, {"email": email, **fields}, actor="seed")
        world.ids[key] = contact.id
        for cents in gifts:
            donations.create(session, contact.id, {"amount_cents": cents}, actor="seed")
    group = groups.create(session, "Do not email", actor="seed")
    groups.add_member(session, group.id, world.ids["quiet"], actor="seed")
    everyone = segments.create(session, {"name": "Everyone", "text": 'email contains "@"'},
                               actor="seed")
    world.segment_id = everyone.id
    session.commit()
    return world


def new_campaign(session: Session, app: Flask, world: World, kind: str = "chip_in",
                 **fields: Any) -> Campaign:
    """Create a draft of a kind from its starter, aimed at everyone."""
    data = {"kind": kind, "name": f"Test {kind}", "segment_id": world.segment_id, **fields}
    campaign = composing.create(session, data, actor=AUTHOR,
                                defaults=campaign_config.defaults(app))
    session.commit()
    return campaign


def make_ready(session: Session, app: Flask, campaign: Campaign) -> dict[str, Any]:
    """Mark a draft ready with the app's settings."""
    counts = sending.mark_ready(session, campaign, actor=AUTHOR, org=campaign_config.org(app),
                                settings=campaign_config.settings(app, campaign),
                                rules=campaign_config.rules(app))
    session.commit()
    return counts


def approve_and_request(session: Session, campaign: Campaign, when: Any = None) -> None:
    """Approve (when needed) and hand the campaign to the send job."""
    if campaign.require_approval and campaign.status == "ready":
        sending.approve(campaign, actor=APPROVER, role="organizer")
    sending.request_send(campaign, actor=APPROVER, when=when)
    session.commit()


def sender(session: Session, app: Flask, campaign: Campaign, **kwargs: Any) -> send_job.Sender:
    """Build the send job's worker for a campaign on the app's sandbox."""
    return send_job.Sender(session=session, gateway=kwargs.pop("gateway", gateway_of(app)),
                           campaign=campaign, progress=Reporter(session),
                           settings=campaign_config.settings(app, campaign),
                           rules=campaign_config.rules(app), report_seconds=0, **kwargs)
