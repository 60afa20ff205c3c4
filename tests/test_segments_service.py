"""Saved segments (create, read, change, delete, resolve, preview) and registering fields."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from crm import contacts
from crm.errors import NotFound, ValidationFailed
from crm.models import CONSENT_METHODS, AuditEntry, ConsentEvent, Segment
from crm.segments import (
    REGISTRY,
    Clock,
    Condition,
    FieldRegistry,
    Many,
    SegmentError,
    count,
    from_json,
    parse_text,
    register_field,
    service,
    to_text,
)
from crm.segments import fields as fields_module
from crm.segments.evaluate import load_records, matching_ids
from crm.segments.service import DuplicateSegment, InvalidRule

ACTOR = "organizer@example.org"


@pytest.fixture
def voters(session: Any) -> dict[str, int]:
    ids = {}
    for name, state, tags in (("Ana", "WI", ["union-member"]), ("Ben", "MN", []),
                              ("Cara", None, ["union-member"])):
        ids[name] = contacts.create(session, {"email": f"{name}@example.org",
                                              "first_name": name, "state": state, "tags": tags},
                                    actor="t").id
    session.commit()
    return ids


def test_create_from_text_keeps_json_and_canonical_text(session: Any) -> None:
    segment = service.create(session, {"name": "  WI   members ", "description": " Core ",
                                       "text": 'TAG:"union-member" AND state in (wi)'},
                             actor=ACTOR)
    assert (segment.name, segment.name_key, segment.description) == ("WI members", "wi members",
                                                                    "Core")
    assert segment.text == 'tag:"union-member" and state in (WI)'
    assert segment.rules == {"all": [{"tag": "union-member"},
                                     {"field": "state", "op": "in", "value": ["WI"]}]}
    assert segment.created_by == ACTOR
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "segment")).one()
    assert (entry.action, entry.entity_id) == ("create", segment.id)
    assert entry.changes["text"] == [None, segment.text]


def test_create_from_json_and_from_text_agree(session: Any) -> None:
    rules = {"any": [{"field": "donations.total", "op": ">=", "value": 50},
                     {"not": {"group": "Steering"}}]}
    by_json = service.create(session, {"name": "A", "rules": rules}, actor=ACTOR)
    by_text = service.create(session, {"name": "B", "text": by_json.text}, actor=ACTOR)
    assert by_text.rules == by_json.rules == rules
    assert by_json.text == 'donations.total >= 50 or not group:"Steering"'


def test_names_are_unique_ignoring_case(session: Any) -> None:
    first = service.create(session, {"name": "Donors", "text": "donations.count >= 1"},
                           actor=ACTOR)
    with pytest.raises(DuplicateSegment) as caught:
        service.create(session, {"name": "DONORS", "text": "state = WI"}, actor=ACTOR)
    assert caught.value.existing_id == first.id and caught.value.status_code == 409
    other = service.create(session, {"name": "Others", "text": "state = WI"}, actor=ACTOR)
    with pytest.raises(DuplicateSegment):
        service.update(session, other.id, {"name": "donors"}, actor=ACTOR)


@pytest.mark.parametrize(("data", "errors"), [
    ({"name": "X"}, {"rules": "Give the rules as JSON or as text, one of the two."}),
    ({"name": "X", "text": "state = WI", "rules": {"tag": "a"}},
     {"rules": "Give the rules as JSON or as text, one of the two."}),
    ({"name": "  ", "text": "state = WI"}, {"name": "A segment needs a name."}),
    ({"name": "X" * 201, "text": "state = WI"},
     {"name": "Segment names are at most 200 characters."}),
    ({"name": "X", "text": "state = WI", "description": "d" * 1001},
     {"description": "At most 1000 characters."}),
    ({"name": "X", "text": 5}, {"text": "Must be text."}),
    ({"name": "X", "text": "state = WI", "owner": "me"}, {"owner": "Unknown field."}),
])
def test_bad_segment_data(session: Any, data: dict[str, Any], errors: dict[str, str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.create(session, data, actor=ACTOR)
    assert caught.value.errors == errors
    assert session.scalar(select(Segment)) is None


def test_a_rule_that_does_not_parse_says_what_and_where(session: Any) -> None:
    with pytest.raises(InvalidRule) as caught:
        service.create(session, {"name": "X", "text": "stat = WI"}, actor=ACTOR)
    assert caught.value.status_code == 422
    assert caught.value.errors == {
        "text": 'Unknown field "stat" at column 1; did you mean "state"?'}
    assert caught.value.error.as_dict()["position"] == 0
    with pytest.raises(InvalidRule) as caught:
        service.create(session, {"name": "X", "rules": {"all": [{"tag": ""}]}}, actor=ACTOR)
    assert caught.value.key == "rules"
    assert caught.value.error.position == "all[0].tag"


def test_update_changes_only_what_is_sent_and_audits(session: Any) -> None:
    segment = service.create(session, {"name": "A", "text": "state = WI"}, actor=ACTOR)
    created = segment.updated_at
    service.update(session, segment.id, {"description": "Wisconsin"}, actor=ACTOR)
    assert (segment.name, segment.text, segment.description) == ("A", "state = WI",
                                                                 "Wisconsin")
    service.update(session, segment.id, {"rules": {"field": "state", "op": "=", "value": "mn"}},
                   actor=ACTOR)
    assert segment.text == "state = MN" and segment.updated_at >= created
    before = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()))
    service.update(session, segment.id, {"text": "state = MN", "name": "A"}, actor=ACTOR)
    assert session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())) == before
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity_type == "segment").order_by(AuditEntry.id)).all()
    assert actions == ["create", "update", "update"]


def test_get_list_find_and_delete(session: Any) -> None:
    b = service.create(session, {"name": "b", "text": "state = WI"}, actor=ACTOR)
    a = service.create(session, {"name": "A", "text": "state = MN"}, actor=ACTOR)
    assert [s.name for s in service.all_segments(session)] == ["A", "b"]
    assert service.get(session, a.id) is a
    assert service.find_by_name(session, " B ") is b
    assert service.delete(session, a.id, actor=ACTOR) == "A"
    with pytest.raises(NotFound):
        service.get(session, a.id)
    with pytest.raises(NotFound):
        service.delete(session, a.id, actor=ACTOR)
    assert [s.name for s in service.all_segments(session)] == ["b"]


def test_resolve_and_preview(session: Any, voters: dict[str, int]) -> None:
    segment = service.create(session, {"name": "Members", "text": 'tag:"union-member"'},
                             actor=ACTOR)
    rule = service.resolve(session, segment.id)
    assert rule == parse_text('tag:"union-member"')
    assert service.resolve(session, rule) is rule
    assert count(session, rule) == 2
    with pytest.raises(NotFound):
        service.resolve(session, segment.id + 100)
    with pytest.raises(TypeError):
        service.resolve(session, "state = WI")  # type: ignore[arg-type]
    preview = service.preview(session, {"text": "state in (wi, mn)"}, sample_size=1)
    assert (preview.count, preview.text) == (2, "state in (WI, MN)")
    assert preview.rules == {"field": "state", "op": "in", "value": ["WI", "MN"]}
    assert [c.first_name for c in preview.sample] == ["Ben"]
    with pytest.raises(InvalidRule):
        service.preview(session, {"text": "state in (wi"})


def test_a_stored_rule_that_no_longer_reads_is_a_validation_error(session: Any) -> None:
    segment = service.create(session, {"name": "X", "text": "state = WI"}, actor=ACTOR)
    segment.rules = {"field": "opened", "op": "=", "value": True}
    with pytest.raises(InvalidRule) as caught:
        service.rule_of(segment)
    assert caught.value.error.kind == "unknown_field"


def test_a_new_field_is_one_entry(session: Any, voters: dict[str, int]) -> None:
    # Shaped like a campaign engagement field: rows of another table, filtered by kind.
    registry = REGISTRY.copy()
    registry.register(fields_module.Field(
        "unsubscribed_via", "enum",
        Many(ConsentEvent.__table__.c.method, match={"status": "unsubscribed"}),
        allowed=CONSENT_METHODS))
    contacts.update(session, voters["Ben"], {"email_status": "unsubscribed"}, actor="t",
                    method="import")
    session.commit()
    text_rule = parse_text("unsubscribed_via = IMPORT", registry)
    assert text_rule == from_json({"field": "unsubscribed_via", "op": "=", "value": "import"},
                                  registry)
    assert to_text(text_rule) == "unsubscribed_via = import"
    assert count(session, text_rule, registry=registry) == 1
    records = load_records(session, registry)
    assert matching_ids(records, text_rule, clock=Clock.current(),
                        registry=registry) == {voters["Ben"]}
    negated = parse_text("unsubscribed_via != import", registry)
    assert count(session, negated, registry=registry) == 2
    with pytest.raises(SegmentError) as caught:
        parse_text("unsubscribed_via = IMPORT")
    assert caught.value.kind == "unknown_field"


def test_register_field_adds_to_the_registry_rules_are_read_against(
        monkeypatch: pytest.MonkeyPatch) -> None:
    registry = REGISTRY.copy()
    monkeypatch.setattr(fields_module, "REGISTRY", registry)
    source = Many(ConsentEvent.__table__.c.method)
    field = register_field("consent.method", "enum", source, allowed=CONSENT_METHODS,
                           label="How consent changed")
    assert registry.get("consent.method") is field
    assert REGISTRY.get("consent.method") is None
    assert registry.register(field) is field  # the same field again changes nothing
    with pytest.raises(ValueError, match="already registered"):
        register_field("consent.method", "enum", source, allowed=CONSENT_METHODS)
    replaced = register_field("consent.method", "enum", source, allowed=CONSENT_METHODS,
                              operators=("=", "!="), replace=True)
    assert registry.get("consent.method") is replaced
    assert parse_text("consent.method != api", registry) == Condition("consent.method", "!=",
                                                                     "api")
    with pytest.raises(SegmentError) as caught:
        parse_text("consent.method in (api)", registry)
    assert caught.value.kind == "bad_operator"


@pytest.mark.parametrize(("args", "message"), [
    (("Opened", "boolean"), "lower-case dotted words"),
    (("opened", "flag"), "Unknown field type"),
    (("opened", "enum"), "Enum fields, and only they"),
    (("opened", "boolean", ("contains",)), "cannot take"),
])
def test_fields_are_checked_when_registered(args: tuple[Any, ...], message: str) -> None:
    name, type_, *ops = args
    with pytest.raises(ValueError, match=message):
        fields_module.Field(name, type_, Many(ConsentEvent.__table__.c.method),
                            operators=tuple(ops[0]) if ops else ())


def test_the_registry_describes_its_fields_for_a_rule_builder() -> None:
    described = {d["name"]: d for d in (f.describe() for f in REGISTRY.fields())}
    assert described["state"]["type"] == "enum" and "WI" in described["state"]["allowed"]
    assert described["custom.<key>"]["operators"][:2] == ["=", "!="]
    assert described["donations.total_since(<window>)"]["type"] == "money"
    assert "within" in described["created_at"]["operators"]
    assert isinstance(FieldRegistry().fields(), list) and not FieldRegistry().fields()
