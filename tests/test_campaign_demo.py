"""``flask campaigns demo``: segments to send to, a suppression group, a second organizer."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from campaigns import demo
from crm import groups
from crm.models import Group, StaffUser
from crm.segments import service as segments
from tests.mailchimp_support import add
from wsgi import db


def test_demo_sets_up_once_and_leaves_what_exists(mc_app: Flask) -> None:
    with mc_app.app_context():
        for i in range(20):
            add(db.session, f"member{i}@union.org")
        db.session.commit()
    runner = mc_app.test_cli_runner()
    first = runner.invoke(args=["campaigns", "demo"])
    assert first.exit_code == 0, first.output
    assert "Created organizer organizer@example.org with password: " in first.output
    second = runner.invoke(args=["campaigns", "demo"])
    assert second.exit_code == 0
    assert "set up already" in second.output and "password" not in second.output
    with mc_app.app_context():
        session: Any = db.session
        for name in demo.SEGMENTS:
            assert segments.find_by_name(session, name) is not None
        group = session.scalar(select(Group).where(Group.name == demo.SUPPRESSION))
        assert groups.member_count(session, group.id) == demo.SUPPRESSED
        organizers = session.scalar(select(func.count()).select_from(StaffUser)
                                    .where(StaffUser.role == "organizer"))
        assert organizers == 1
