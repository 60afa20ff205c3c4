"""Write one batch of people with SQLAlchemy Core: a few set-based statements per batch."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from ..consent import check_transition
from ..contacts import merged_into
from ..errors import ConsentError
from ..models import AuditEntry, ConsentEvent, Contact, ImportReject, utcnow
from ..validation import search_key
from . import related
from .bulk import BulkInsert, among
from .engine import Counts, Options, Person
from .rows import Reject, raw_row

CONTACTS = cast(Table, Contact.__table__)
CONSENT = cast(Table, ConsentEvent.__table__)
AUDIT = cast(Table, AuditEntry.__table__)
REJECTS = cast(Table, ImportReject.__table__)
PLAIN = ("first_name", "last_name", "phone", "street", "city", "state", "zip", "county",
         "employer", "occupation", "source")
READ = ("id", "email", "email_normalized", *PLAIN, "custom_fields", "email_status",
        "deleted_at", "merged_into_id")
WRITE = ("email", "email_normalized", *PLAIN, "first_name_key", "last_name_key", "city_key",
         "custom_fields", "email_status", "deleted_at", "updated_at")
AUDITED = ("email", *PLAIN, "custom_fields", "email_status", "tags")
NEW_CONTACT = ("email", "email_normalized", *PLAIN, "first_name_key", "last_name_key",
               "city_key", "custom_fields", "email_status", "created_at", "updated_at")
EVENT = ("contact_id", "status", "previous_status", "method", "actor", "note", "created_at")
ENTRY = ("actor", "action", "entity_type", "entity_id", "changes", "created_at")
LINK = ("contact_id", "tag_id")
# Where the audited fields sit in a new contact's row.
AUDIT_ON_CREATE = sorted((NEW_CONTACT.index(name), name) for name in AUDITED if name != "tags")


class BatchWriter:
    """Resolve a batch of people to contacts, then insert and update them in bulk."""

    def __init__(self, session: Session, options: Options, counts: Counts,
                 import_tags: list[tuple[str, str]], header: list[str]) -> None:
        self.session = session
        self.header = header
        self.options = options
        self.counts = counts
        self.import_tags = import_tags
        self.tag_ids: dict[str, int] = {}
        # Addresses kept by merged duplicates: they lead to the survivor, which keeps its own.
        self.merged_addresses: set[str] = set()
        postgres = session.get_bind().dialect.name == "postgresql"
        # Ids from the table's own sequence (a SERIAL column), so later inserts stay in step.
        self.sequence = text("SELECT nextval(pg_get_serial_sequence('crm_contacts', 'id')) "
                             "FROM generate_series(1, :n)") if postgres else None
        self.contacts = BulkInsert(session, CONTACTS, (("id",) if postgres else ()) + NEW_CONTACT)
        self.events = BulkInsert(session, CONSENT, EVENT)
        self.entries = BulkInsert(session, AUDIT, ENTRY)
        self.links = BulkInsert(session, related.CONTACT_TAGS, LINK)

    def write(self, people: list[Person]) -> list[Reject]:
        """Write the batch; return rows refused while matching (conflicting identities)."""
        if not people:
            return []
        now = utcnow()
        rejects: list[Reject] = []
        by_member = related.find_members(self.session, people)
        keys = [p.email_key for p in people if p.email_key]
        current = self._load(among(self.session, CONTACTS.c.email_normalized, keys)) if keys else {}
        by_email = {c["email_normalized"]: c for c in current.values()}
        self._follow_merges(current, by_email)
        wanted_ids = {cid for cid in by_member.values() if cid not in current}
        if wanted_ids:
            current.update(self._load(among(self.session, CONTACTS.c.id, list(wanted_ids))))
        targets: dict[int, Person] = {}
        new: list[Person] = []
        for person in people:
            member_cid = next((by_member[(m["union_name"], m["member_id"])]
                               for m in person.memberships
                               if (m["union_name"], m["member_id"]) in by_member), None)
            holder = by_email.get(person.email_key or "")
            if member_cid is not None and holder is not None and holder["id"] != member_cid:
                rejects += self._refuse(person, f"the member id belongs to contact #{member_cid}"
                                        f" but {person.email} is contact #{holder['id']}")
            elif member_cid is not None or holder is not None:
                cid = member_cid if member_cid is not None else holder["id"]  # type: ignore[index]
                if cid in targets:
                    for row in person.rows:
                        targets[cid].add(row)
                else:
                    targets[cid] = person
            elif person.email_key is None:
                rejects += self._refuse(person, "email is missing (no member with this id yet)")
            else:
                new.append(person)
        self._tag_ids({k: d for p in people for k, d in p.tags.items()})
        ids = self._create(new, now)
        ids.update(self._update(targets, current, now))
        related.write_donations(self.session, people, ids, self.options, self.counts)
        related.write_memberships(self.session, people, ids, self.counts)
        return rejects

    def _refuse(self, person: Person, reason: str) -> list[Reject]:
        return [Reject(row.line, reason, raw_row(self.header, row.cells)) for row in person.rows]

    def _follow_merges(self, current: dict[int, dict[str, Any]],
                       by_email: dict[str, dict[str, Any]]) -> None:
        # A merged duplicate's address belongs to the surviving contact: update that one
        # instead of bringing the tombstone back.
        for key, row in list(by_email.items()):
            if row["merged_into_id"] is None:
                continue
            survivor_id = merged_into(self.session, row["id"])
            if survivor_id is None:
                continue
            if survivor_id not in current:
                current.update(self._load(CONTACTS.c.id == survivor_id))
            by_email[key] = current[survivor_id]
            self.merged_addresses.add(key)

    def _load(self, where: Any) -> dict[int, dict[str, Any]]:
        stmt = select(*(CONTACTS.c[name] for name in READ)).where(where)
        return {row["id"]: dict(row) for row in self.session.execute(stmt).mappings()}

    def _tag_ids(self, batch_tags: dict[str, str]) -> None:
        wanted = {key: display for display, key in self.import_tags} | batch_tags
        missing = [k for k in wanted if k not in self.tag_ids]
        if missing:
            self.tag_ids.update(related.ensure_tags(self.session,
                                                    {k: wanted[k] for k in missing}))

    def _wanted_tags(self, person: Person) -> dict[str, str]:
        tags = {key: display for display, key in self.import_tags}
        tags.update(person.tags)
        return tags

    def _create(self, people: list[Person], now: Any) -> dict[int, int]:
        """Insert new contacts in bulk; return {id(person): contact id}."""
        if not people:
            return {}
        stamp = self.contacts.convert("created_at", now)
        as_json = self.contacts.by_name.get("custom_fields") or (lambda value: value)
        new_status = self.options.new_status
        rows = []
        for p in people:
            values = [p.fields.get(name) for name in PLAIN]
            first, last, city = values[0] or "", values[1] or "", values[4]
            values[0], values[1] = first, last
            rows.append((p.email, p.email_key, *values, search_key(first), search_key(last),
                         search_key(city) or None, p.custom, p.status or new_status,
                         stamp, stamp))
        keys = [p.email_key for p in people]
        if self.sequence is not None:
            # PostgreSQL hands out the ids first, so nothing has to be read back.
            new_ids = sorted(self.session.scalars(self.sequence, {"n": len(rows)}))
            self.contacts.insert([(cid, *row[:-4], as_json(row[-4]), *row[-3:])
                                  for cid, row in zip(new_ids, rows, strict=True)], ready=True)
            by_key = dict(zip(keys, new_ids, strict=True))
        else:
            self.contacts.insert([(*row[:-4], as_json(row[-4]), *row[-3:]) for row in rows],
                                 ready=True)
            stmt = select(CONTACTS.c.email_normalized, CONTACTS.c.id).where(
                among(self.session, CONTACTS.c.email_normalized, keys))
            by_key = {key: cid for key, cid in self.session.execute(stmt)}
        ids: dict[int, int] = {}
        events, entries, links = [], [], []
        actor = self.options.actor
        event_stamp = self.events.convert("created_at", now)
        entry_stamp = self.entries.convert("created_at", now)
        changes_json = self.entries.by_name.get("changes") or (lambda value: value)
        for p, row in zip(people, rows, strict=True):
            cid = by_key[p.email_key]
            ids[id(p)] = cid
            tags = self._wanted_tags(p)
            links += [(cid, self.tag_ids[k]) for k in tags]
            events.append((cid, row[-3], None, "import", actor, None, event_stamp))
            # Only the values given: no None, "" or {} (all falsy; no field holds 0).
            changes = {name: [None, row[i]] for i, name in AUDIT_ON_CREATE if row[i]}
            if tags:
                changes["tags"] = [None, sorted(tags.values())]
            entries.append((actor, "create", "contact", cid,
                            changes_json(dict(sorted(changes.items()))), entry_stamp))
        self.counts.created += sum(1 for p in people if not p.repeat)
        self.links.insert(links, ready=True)
        self.events.insert(events, ready=True)
        self.entries.insert(entries, ready=True)
        return ids

    def _update(self, targets: dict[int, Person], current: dict[int, dict[str, Any]],
                now: Any) -> dict[int, int]:
        """Apply only non-empty values to existing contacts; audit each changed one."""
        if not targets:
            return {}
        have = related.tags_of(self.session, list(targets))
        updates, events, entries, links = [], [], [], []
        ids: dict[int, int] = {}
        for cid, p in targets.items():
            ids[id(p)] = cid
            before = current[cid]
            after = dict(before)
            after.update(p.fields)
            if (p.email_key and p.email_key != before["email_normalized"]
                    and p.email_key not in self.merged_addresses):
                after["email"], after["email_normalized"] = p.email, p.email_key
            if p.custom:
                after["custom_fields"] = {**(before["custom_fields"] or {}), **p.custom}
            if p.status and p.status != before["email_status"]:
                try:
                    check_transition(before["email_status"], p.status)
                except ConsentError:
                    self.counts.skipped_resubscribe += 1
                else:
                    after["email_status"] = p.status
                    events.append((cid, p.status, before["email_status"], "import",
                                   self.options.actor, None, now))
            old_tags = have.get(cid, {})
            new_tags = {k: d for k, d in self._wanted_tags(p).items() if k not in old_tags}
            links += [(cid, self.tag_ids[k]) for k in new_tags]
            restored = before["deleted_at"] is not None
            if restored:
                # An import of a deleted contact's address brings it back with its opt-out.
                after["deleted_at"] = None
                entries.append(self._audit("restore", cid, {"deleted": [True, False]}, now))
            changed = {k: [before[k], after[k]] for k in AUDITED[:-1] if before[k] != after[k]}
            if new_tags:
                changed["tags"] = [sorted(old_tags.values()),
                                   sorted([*old_tags.values(), *new_tags.values()])]
            if changed or restored:
                updates.append(self._row_for_update(cid, after, now))
            if changed:
                entries.append(self._audit("update", cid, dict(sorted(changed.items())), now))
            if not p.repeat:
                if changed or restored:
                    self.counts.updated += 1
                else:
                    self.counts.unchanged += 1
        if updates:
            stmt = update(CONTACTS).where(CONTACTS.c.id == bindparam("b_id"))
            self.session.execute(stmt, updates)
        self._insert_all(links, events, entries)
        return ids

    @staticmethod
    def _row_for_update(cid: int, after: dict[str, Any], now: Any) -> dict[str, Any]:
        row = {name: after[name] for name in WRITE if name in after}
        row.update(b_id=cid, updated_at=now, first_name=after["first_name"] or "",
                   last_name=after["last_name"] or "",
                   first_name_key=search_key(after["first_name"]),
                   last_name_key=search_key(after["last_name"]),
                   city_key=search_key(after["city"]) or None)
        return row

    def _audit(self, action: str, cid: int, changes: dict[str, Any],
               now: Any) -> tuple[Any, ...]:
        return (self.options.actor, action, "contact", cid, changes, now)

    def _insert_all(self, links: list[Any], events: list[Any], entries: list[Any]) -> None:
        self.links.insert(links)
        self.events.insert(events)
        self.entries.insert(entries)

    def store_rejects(self, job_id: int, rejects: list[Reject]) -> None:
        """Keep refused rows so staff can download, fix and re-import them."""
        self.session.execute(insert(REJECTS), [
            {"job_id": job_id, "line_number": r.line, "reason": r.reason, "row": r.row}
            for r in rejects])
