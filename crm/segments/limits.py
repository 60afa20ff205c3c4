"""How large a rule may be: enough for any real segment, bounded so no rule can exhaust us."""

from __future__ import annotations

MAX_TEXT = 10_000
MAX_DEPTH = 32
MAX_NODES = 300
