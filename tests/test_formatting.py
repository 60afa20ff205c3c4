"""How values read on the pages."""

from __future__ import annotations

from datetime import UTC, datetime

from crm.formatting import audit_value, field_label, local_time, phone


def test_phones_read_as_staff_dial_them() -> None:
    assert phone("+16085550134") == "(608) 555-0134"
    assert phone("+442079460958") == "+44 20 7946 0958"
    assert phone(None) == ""
    assert phone("garbage") == "garbage"


def test_times_show_in_the_org_zone() -> None:
    moment = datetime(2026, 7, 1, 17, 30, tzinfo=UTC)
    assert local_time(moment, "America/Chicago") == "2026-07-01 12:30 CDT"
    assert local_time(moment, "UTC") == "2026-07-01 17:30 UTC"
    assert local_time(moment, "Not/AZone") == "2026-07-01 17:30 UTC"
    assert local_time(None) == ""
    assert local_time(moment, "America/Chicago", "%Y-%m-%d") == "2026-07-01"


def test_audit_values_are_plain_text() -> None:
    assert audit_value(["donor", "union-member"]) == "donor, union-member"
    assert audit_value({"shirt": "L", "local": 60}) == "shirt: L; local: 60"
    assert audit_value(None) == "—"
    assert audit_value([]) == "—"
    assert audit_value(True) == "yes"
    assert field_label("email_status") == "Email status"
    assert field_label("favourite_thing") == "Favourite thing"
