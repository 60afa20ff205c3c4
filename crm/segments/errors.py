"""What is wrong with a rule, and where: a column in the text or a path in the JSON."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

KINDS = ("empty", "syntax", "unbalanced", "unknown_field", "bad_operator", "bad_value",
         "too_large")


class SegmentError(ValueError):
    """A rule that cannot be used; ``position`` is a 0-based column or a JSON path.

    Messages count columns from 1, as editors do; ``position`` counts from 0 so a page can
    put its caret there. JSON paths look like ``all[1].value``; "" is the rule itself.
    """

    def __init__(self, kind: str, message: str, position: int | str) -> None:
        if kind not in KINDS:
            raise ValueError(f"Unknown segment error kind {kind!r}.")
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.position = position

    def as_dict(self) -> dict[str, object]:
        """Return the error as JSON-ready data."""
        return {"kind": self.kind, "message": self.message, "position": self.position}


class Problem(Exception):
    """A rule part that failed validation, before the front end says where it is.

    ``part`` is "field", "arg", "op" or "value"; ``index`` picks an item of a list or pair.
    """

    def __init__(self, kind: str, what: str, hint: str = "", *, part: str = "value",
                 index: int | None = None) -> None:
        super().__init__(what)
        self.kind = kind
        self.what = what
        self.hint = hint
        self.part = part
        self.index = index

    def at(self, where: str, position: int | str) -> SegmentError:
        """Return the SegmentError for this problem found at ``where``."""
        return SegmentError(self.kind, f"{self.what} at {where}{self.hint}", position)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """Return '; did you mean "x"?' for the closest option, or "" when none is close."""
    close = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


def column(position: int) -> str:
    """Describe a 0-based offset the way an editor shows it."""
    return f"column {position + 1}"


def path_label(path: str) -> str:
    """Describe a JSON path for a message."""
    return path or "the top of the rule"
