"""What a column can mean, the built-in presets and how a header picks one."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

# Import fields, in the order the mapping form lists them.
FIELDS: dict[str, str] = {
    "email": "Email",
    "full_name": "Full name (split into first and last)",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "street": "Street",
    "address": "Full address (Mailchimp: street, city, state, ZIP, country)",
    "city": "City",
    "state": "State",
    "zip": "ZIP",
    "county": "County",
    "employer": "Employer",
    "occupation": "Occupation",
    "source": "Source",
    "email_status": "Email status",
    "tags": "Tags (comma-separated)",
    "custom": "Custom field (named after the column)",
    "unsub_time": "Unsubscribed at (marks the row unsubscribed)",
    "clean_time": "Cleaned at (marks the row cleaned)",
    "donation_id": "Donation receipt id",
    "donation_amount": "Donation amount",
    "donation_date": "Donation date",
    "donation_recurring": "Donation recurring months",
    "donation_refcode": "Donation reference code",
    "union_name": "Union",
    "member_id": "Member id",
    "local": "Union local",
    "member_status": "Member status",
    "worksite": "Worksite",
    "member_since": "Member since",
}
IGNORE = ""

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def header_key(name: str) -> str:
    """Return a header name reduced to lowercase letters and digits, for matching."""
    return _NOT_ALNUM.sub("", name.casefold())


# Spellings seen in real exports and sheets, as header keys.
ALIASES: dict[str, tuple[str, ...]] = {
    "full_name": ("name", "fullname", "contactname", "attendee", "attendeename"),
    "email": ("email", "emailaddress", "email1", "homeemail", "personalemail", "donoremail",
              "mail", "emailaddr"),
    "first_name": ("firstname", "first", "givenname", "fname", "donorfirstname", "forename"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname", "donorlastname"),
    "phone": ("phone", "phonenumber", "cellphone", "cell", "mobile", "mobilephone",
              "homephone", "donorphone", "telephone", "tel", "cellnumber"),
    "street": ("address", "street", "streetaddress", "address1", "addr1", "donoraddr1",
               "homeaddress", "mailingaddress"),
    "city": ("city", "town", "donorcity"),
    "state": ("state", "st", "donorstate", "province"),
    "zip": ("zip", "zipcode", "postalcode", "postcode", "donorzip", "zip5"),
    "county": ("county",),
    "employer": ("employer", "donoremployer", "company", "organization", "organisation",
                 "workplace"),
    "occupation": ("occupation", "donoroccupation", "jobtitle", "job"),
    "source": ("source",),
    "email_status": ("emailstatus", "subscriptionstatus"),
    "tags": ("tags", "tag", "labels"),
    "unsub_time": ("unsubtime",),
    "clean_time": ("cleantime",),
    "donation_id": ("receiptid", "transactionid", "donationid", "lineitemid"),
    "donation_amount": ("amount", "donationamount", "contributionamount"),
    "donation_date": ("donationdate", "contributiondate", "paymentdate"),
    "donation_recurring": ("recurringtotalmonths",),
    "donation_refcode": ("referencecode", "refcode"),
    "union_name": ("union", "unionname", "international"),
    "member_id": ("memberid", "memberno", "membernumber", "member", "membernum", "mbrid",
                  "employeeid"),
    "local": ("local", "localnumber", "localunion", "chapter"),
    "member_status": ("memberstatus", "membershipstatus"),
    # "Workplace" on an event sheet is an employer; a roster says "Worksite".
    "worksite": ("worksite", "jobsite", "employerlocation"),
    "member_since": ("membersince", "joindate", "datejoined", "initiationdate"),
}
_BY_ALIAS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class Preset:
    """A known kind of file: its name, label and the fields its columns mean."""

    name: str
    label: str
    columns: dict[str, str] = field(default_factory=dict)
    donation_source: str = "import"


ACTBLUE = Preset("actblue", "ActBlue contributions", {
    "receiptid": "donation_id", "date": "donation_date", "amount": "donation_amount",
    "donorfirstname": "first_name", "donorlastname": "last_name", "donoraddr1": "street",
    "donorcity": "city", "donorstate": "state", "donorzip": "zip", "donoremail": "email",
    "donorphone": "phone", "donoremployer": "employer", "donoroccupation": "occupation",
    "recurringtotalmonths": "donation_recurring", "referencecode": "donation_refcode",
}, donation_source="actblue")
MAILCHIMP = Preset("mailchimp", "Mailchimp audience export", {
    "emailaddress": "email", "firstname": "first_name", "lastname": "last_name",
    "address": "address", "phonenumber": "phone", "tags": "tags", "unsubtime": "unsub_time",
    "cleantime": "clean_time",
})
ROSTER = Preset("roster", "Union roster", {
    key: name for name in ("member_id", "first_name", "last_name", "local", "member_status",
                           "worksite", "union_name", "member_since", "street", "city",
                           "state", "zip", "employer")
    for key in ALIASES[name]
} | {"status": "member_status", "homeemail": "email", "email": "email",
     "emailaddress": "email", "personalemail": "email", "cellphone": "phone", "cell": "phone",
     "mobile": "phone", "mobilephone": "phone", "homephone": "phone", "phone": "phone"})
GENERIC = Preset("generic", "Other spreadsheet")
PRESETS = {p.name: p for p in (ACTBLUE, MAILCHIMP, ROSTER, GENERIC)}

_MAILCHIMP_MARKS = {"optintime", "memberrating", "leid", "euid", "confirmtime", "unsubtime",
                    "cleantime"}
_MEMBER_ID_KEYS = set(ALIASES["member_id"]) - {"employeeid"}


def detect(header: list[str]) -> Preset:
    """Return the preset a header looks like, else the generic one."""
    keys = {header_key(name) for name in header}
    if {"receiptid", "amount", "donoremail"} <= keys:
        return ACTBLUE
    if "emailaddress" in keys and keys & _MAILCHIMP_MARKS:
        return MAILCHIMP
    if keys & _MEMBER_ID_KEYS and "local" in keys:
        return ROSTER
    return GENERIC


def suggest(header: list[str], preset: Preset) -> dict[str, str]:
    """Suggest a field for each column: the preset's own, an alias, then a close spelling."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in header:
        key = header_key(name)
        target = preset.columns.get(key)
        if target is None and preset is GENERIC:
            target = _BY_ALIAS.get(key)
            if target is None and key:
                close = difflib.get_close_matches(key, list(_BY_ALIAS), n=1, cutoff=0.8)
                target = _BY_ALIAS[close[0]] if close else None
        if target is None and preset is GENERIC and key:
            # An event sheet's own columns (shirt size, dietary needs) are kept, not dropped.
            target = "custom"
        # A field takes its first column; "custom" may repeat.
        if target and (target == "custom" or target not in used):
            out[name] = target
            used.add(target)
        else:
            out[name] = IGNORE
    return out
