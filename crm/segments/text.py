"""The text form staff type, parsed with lark (``to_text`` in ``printer`` prints it back).

    tag:"union-member" and state in (WI, MN) and donations.total >= 50
        and not email_status = unsubscribed

``not`` binds tighter than ``and``, which binds tighter than ``or``; parentheses group.
Values are double-quoted text (backslash escapes the next character), bare words, numbers,
dates (2026-01-31) and windows (30d, 6w, 12m, 2y).
"""

from __future__ import annotations

import re
import typing

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from .ast import All, Any, Condition, Node, Not, flatten
from .errors import Problem, SegmentError, column
from .fields import REGISTRY, FieldRegistry
from .limits import MAX_DEPTH, MAX_NODES, MAX_TEXT
from .values import MISSING, build_condition, make_group, make_tag

GRAMMAR = r"""
?start: or_expr
?or_expr: and_expr | and_expr (_OR and_expr)+ -> any_
?and_expr: not_expr | not_expr (_AND not_expr)+ -> all_
?not_expr: NOT not_expr -> not_
         | atom
?atom: _LPAR or_expr _RPAR
     | field op -> condition
     | TAG _COLON value -> tag
     | GROUP _COLON value -> group
field: NAME -> plain
     | NAME _LPAR value _RPAR -> call
     | NAME_DOT STRING -> quoted_key
op: SYMBOL value -> compare
  | WORD_OP value -> compare
  | IN list -> in_
  | NOT IN list -> not_in
  | BETWEEN value _AND value -> between
  | IS EMPTY -> is_empty
  | IS NOT EMPTY -> is_not_empty
list: _LPAR value (_COMMA value)* _RPAR
?value: STRING | DATE | WINDOW | NUMBER | WORD

_LPAR: "("
_RPAR: ")"
_COMMA: ","
_COLON: ":"
SYMBOL: "!=" | ">=" | "<=" | "=" | ">" | "<"
WORD_OP.2: /(contains|starts_with|before|after|within)(?!\w)/i
_OR.2: /or(?!\w)/i
_AND.2: /and(?!\w)/i
NOT.2: /not(?!\w)/i
IN.2: /in(?!\w)/i
IS.2: /is(?!\w)/i
EMPTY.2: /empty(?!\w)/i
BETWEEN.2: /between(?!\w)/i
TAG.2: /tag(?=\s*:)/i
GROUP.2: /group(?=\s*:)/i
NAME_DOT.3: /[A-Za-z_]\w*\.(?=")/
NAME: /(?!(?i:and|or|not|in|is|between|empty)(?![\w.\-]))[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_\-]+)*/
STRING: /"(\\.|[^"\\])*"/
DATE.4: /\d{4}-\d{2}-\d{2}(?![\w@.\-+'])/
WINDOW.3: /\d+[A-Za-z](?![\w@.\-+'])/
NUMBER.2: /\d+(\.\d+)?(?![\w@.\-+'])/
WORD: /[\w@][\w@.\-+']*/
%ignore /\s+/
"""

_PARSER = Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)
_OPS = {"SYMBOL", "WORD_OP", "IN", "IS", "BETWEEN"}
_VALUES = {"STRING", "DATE", "WINDOW", "NUMBER", "WORD"}
_STARTS = {"NAME", "NAME_DOT", "TAG", "GROUP", "NOT"}
_JOINS = {"_AND", "_OR", "_RPAR", "$END"}
_TOKEN_WORDS = {"_RPAR": ")", "_LPAR": "(", "_COMMA": ",", "_COLON": ":"}
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def parse_text(text: str, registry: FieldRegistry | None = None) -> Node:
    """Return the rule a text query says, or raise SegmentError with the column at fault."""
    if not isinstance(text, str) or not text.strip():
        raise SegmentError("empty", "The query is empty; write a condition such as state = WI",
                           0)
    if len(text) > MAX_TEXT:
        raise SegmentError("too_large", f"The query is longer than {MAX_TEXT} characters",
                           MAX_TEXT)
    _check_quotes_and_parentheses(text)
    try:
        tree = _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    _check_size(tree)
    return flatten(_Builder(registry or REGISTRY).build(tree))


def _check_quotes_and_parentheses(text: str) -> None:
    opened: list[int] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char == '"':
            end = at + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise SegmentError("syntax", f"A quoted value is not closed at {column(at)}; "
                                   'end it with a double quote (")', at)
            at = end
        elif char == "(":
            opened.append(at)
            if len(opened) > MAX_DEPTH:
                raise SegmentError("too_large", f"Parentheses nest deeper than {MAX_DEPTH} "
                                   f"levels at {column(at)}", at)
        elif char == ")":
            if not opened:
                raise SegmentError("unbalanced", f'Unbalanced ")" at {column(at)}; no "(" '
                                   "comes before it", at)
            opened.pop()
        at += 1
    if opened:
        raise SegmentError("unbalanced", f'Unbalanced "(" at {column(opened[-1])}; it is '
                           "never closed", opened[-1])


def _shown(token: Token) -> str:
    return _TOKEN_WORDS.get(token.type, str(token))


def _syntax_error(text: str, exc: UnexpectedInput) -> SegmentError:
    if isinstance(exc, UnexpectedCharacters):
        at = exc.pos_in_stream
        return SegmentError("syntax", f'Unexpected character "{text[at]}" at {column(at)}', at)
    assert isinstance(exc, UnexpectedToken)
    # The parser's own list merges states; asking it what it accepts here is exact.
    token, expected = exc.token, set(exc.interactive_parser.accepts())
    if token.type == "$END":
        at = len(text.rstrip())
        wanted = ("an operator" if expected & _OPS else "a value" if expected & _VALUES
                  else "a condition" if expected & _STARTS else '"("' if "_LPAR" in expected
                  else "more")
        return SegmentError("syntax", f"The query ends at {column(at)} where {wanted} should "
                            "follow", at)
    at, shown = token.start_pos or 0, _shown(token)
    if expected & _OPS:
        problem = Problem("bad_operator", f'Unknown operator "{shown}"', "; use one of "
                          "=, !=, in, not in, contains, starts_with, >, >=, <, <=, between, "
                          "is empty, is not empty, before, after, within")
        return problem.at(column(at), at)
    if expected <= _JOINS:
        return SegmentError("syntax", f'Unexpected "{shown}" at {column(at)} after a complete '
                            "condition; join conditions with and / or, and put text with "
                            "spaces in double quotes", at)
    history = getattr(exc, "token_history", None) or []
    if expected & _VALUES and token.type == "_RPAR" and history and history[-1].type == "_LPAR":
        return SegmentError("bad_value", f"An empty list at {column(at)}; write lists like "
                            "(WI, MN)", at)
    if expected & _VALUES:
        return SegmentError("syntax", f'Expected a value at {column(at)}, not "{shown}"', at)
    if expected & _STARTS:
        return SegmentError("syntax", f'"{shown}" cannot start a condition at {column(at)}; '
                            'start with a field, tag:, group:, not or "("', at)
    if expected == {"_LPAR"}:
        return SegmentError("syntax", f'Expected "(" at {column(at)}, not "{shown}"; write '
                            "lists like (WI, MN)", at)
    if expected <= {"_COMMA", "_RPAR"}:
        return SegmentError("syntax", f'Unexpected "{shown}" at {column(at)} in a list; '
                            "separate values with commas", at)
    return SegmentError("syntax", f'Unexpected "{shown}" at {column(at)}', at)


def _check_size(tree: Tree[Token]) -> None:
    stack, nodes = [(tree, 1)], 0
    while stack:
        node, level = stack.pop()
        if node.data in ("condition", "tag", "group"):
            nodes += 1
            continue
        if level > MAX_DEPTH or nodes > MAX_NODES:
            raise SegmentError("too_large", f"The query nests deeper than {MAX_DEPTH} levels "
                               f"or has more than {MAX_NODES} conditions", 0)
        stack.extend((child, level + 1) for child in node.children if isinstance(child, Tree))
    if nodes > MAX_NODES:
        raise SegmentError("too_large", f"The query has more than {MAX_NODES} conditions", 0)


def _unquote(token: Token) -> str:
    if token.type == "STRING":
        return _ESCAPE.sub(r"\1", token[1:-1])
    return str(token)


class _Builder:
    """Turn the parse tree into the AST, checking each condition against the registry."""

    def __init__(self, registry: FieldRegistry) -> None:
        self.registry = registry

    def build(self, tree: Tree[Token]) -> Node:
        kind, children = tree.data, tree.children
        if kind == "any_":
            return Any(tuple(self.build(child) for child in children))  # type: ignore[arg-type]
        if kind == "all_":
            return All(tuple(self.build(child) for child in children))  # type: ignore[arg-type]
        if kind == "not_":
            return Not(self.build(children[1]))  # type: ignore[arg-type]
        if kind in ("tag", "group"):
            token = typing.cast(Token, children[1])
            try:
                make = make_tag if kind == "tag" else make_group
                return make(_unquote(token))
            except Problem as problem:
                raise problem.at(column(token.start_pos or 0), token.start_pos or 0) from None
        return self.condition(*children)  # type: ignore[arg-type]

    def condition(self, field: Tree[Token], op: Tree[Token]) -> Condition:
        tokens = typing.cast(list[Token], field.children)
        if field.data == "call":
            name = f"{tokens[0]}({_unquote(tokens[1])})"
        elif field.data == "quoted_key":
            name = str(tokens[0]) + _unquote(tokens[1])
        else:
            name = str(tokens[0])
        op_tokens = [c for c in op.children if isinstance(c, Token)]
        values = [c for c in op.children if isinstance(c, Token) and c.type in _VALUES]
        if op.data in ("in_", "not_in"):
            values = typing.cast(list[Token], typing.cast(Tree[Token], op.children[-1]).children)
        words = {"compare": op_tokens[0].lower() if op_tokens else "", "in_": "in",
                 "not_in": "not in", "between": "between", "is_empty": "is empty",
                 "is_not_empty": "is not empty"}
        raw: object = MISSING
        if op.data in ("in_", "not_in", "between"):
            raw = [_unquote(token) for token in values]
        elif op.data == "compare":
            raw = _unquote(values[0])
        try:
            return build_condition(self.registry, name, words[op.data], raw)
        except Problem as problem:
            if problem.part == "field":
                token = tokens[0]
            elif problem.part == "arg":
                token = tokens[1]
            elif problem.part == "op" or not values:
                token = op_tokens[0]
            else:
                token = values[problem.index or 0]
            at = token.start_pos or 0
            raise problem.at(column(at), at) from None
