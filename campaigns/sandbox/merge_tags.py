"""How the sandbox fills a campaign's merge tags for one recipient.

The rule, which the product's own preview follows too:

* A merge tag is ``*|NAME|*``: NAME is one or more ASCII letters, digits, underscores or
  colons (regular expression ``\\*\\|([A-Za-z0-9_:]+)\\|\\*``), compared upper-cased, so
  ``*|fname|*`` is ``*|FNAME|*``.
* Built-in tags: ``EMAIL`` is the recipient's address; ``UNSUB`` is the sandbox's
  unsubscribe URL for that member and campaign; ``LIST:ADDRESS`` is the audience's postal
  address on one line.
* Any other tag is the recipient's merge field of that tag. An address value (an object)
  becomes its non-empty ``addr1``, ``addr2``, ``city``, ``state``, ``zip`` and ``country``
  joined by ", "; any other value is ``str(value)``. An unknown tag, a field the member
  lacks and an empty value all become "".
* In the HTML part a value is inserted as ``html.escape(value, quote=True)``; in the plain
  text part and in the subject line it is inserted as is.
* One pass, left to right: text a value brings in is never read for tags again.

Test sends to an address that is not a member show ``[NAME]`` for each merge field tag,
since there are no values to show (the built-ins are filled as usual).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any

MERGE_TAG = re.compile(r"\*\|([A-Za-z0-9_:]+)\|\*")
ADDRESS_PARTS = ("addr1", "addr2", "city", "state", "zip", "country")


def value_text(value: Any) -> str:
    """Return a stored merge value as the text a campaign shows."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(str(value[k]) for k in ADDRESS_PARTS if value.get(k))
    return str(value)


def fill(template: str, lookup: Callable[[str], str], *, as_html: bool) -> str:
    """Replace every merge tag in ``template`` by ``lookup(NAME)``, escaped for HTML if asked."""

    def replace(match: re.Match[str]) -> str:
        value = lookup(match.group(1).upper())
        return html.escape(value, quote=True) if as_html else value

    return MERGE_TAG.sub(replace, template)


def recipient_lookup(values: Mapping[str, Any] | None, *, email: str, unsubscribe_url: str,
                     list_address: str) -> Callable[[str], str]:
    """Return the lookup for one recipient; ``values`` None means a non-member (placeholders)."""
    builtins = {"EMAIL": email, "UNSUB": unsubscribe_url, "LIST:ADDRESS": list_address}

    def lookup(name: str) -> str:
        if name in builtins:
            return builtins[name]
        if values is None:
            return f"[{name}]"
        return value_text(values.get(name))

    return lookup


def postal_address(contact: Mapping[str, Any]) -> str:
    """Return an audience's contact block as one line (the ``LIST:ADDRESS`` value)."""
    parts = ("company", "address1", "address2", "city", "state", "zip", "country")
    return ", ".join(str(contact[k]) for k in parts if contact.get(k))


def plain_from_html(markup: str) -> str:
    """Return a rough plain-text version of HTML, as Mailchimp makes one when none is given."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</h[1-6]>|</li>|</div>", "\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)
