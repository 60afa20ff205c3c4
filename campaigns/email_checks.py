"""The variables a campaign email may use, and the sandbox that compiles and vets its body (pure).

Staff write the body, so it is compiled in an immutable sandbox with a short list of
filters and no functions, loops, macros or includes: an email needs none of them, and
each one is a way to reach app internals or to make a render eat the server.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from crm.errors import ValidationFailed

KINDS = ("chip_in", "run_for_office", "general")
KIND_NAMES = {"chip_in": "chip-in appeal", "run_for_office": "run-for-office ask",
              "general": "general email"}

# A Mailchimp merge tag as it appears in content, e.g. *|FNAME|* or *|LIST:ADDRESS|*.
MERGE_TAG = re.compile(r"\*\|([A-Z0-9_:]+)\|\*")


@dataclass(frozen=True)
class Variable:
    """One name staff may write as ``{{ name }}``; ``tag`` is None for campaign constants."""

    name: str
    tag: str | None
    description: str
    kinds: tuple[str, ...]
    example: str


def _merge(name: str, tag: str, description: str, kinds: tuple[str, ...],
           example: str) -> tuple[str, Variable]:
    return name, Variable(name, tag, description, kinds, example)


# Per-recipient values: they become Mailchimp merge tags, filled in for each member.
VARIABLES: dict[str, Variable] = dict([
    _merge("first_name", "FNAME", "The person's first name", KINDS, "Maria"),
    _merge("last_name", "LNAME", "The person's last name", KINDS, "Lopez"),
    _merge("email", "EMAIL", "The person's email address", KINDS, "maria@example.org"),
    _merge("ask_1", "ASK1", "Smallest ask, whole dollars (e.g. 25)", ("chip_in",), "25"),
    _merge("ask_2", "ASK2", "Middle ask, whole dollars", ("chip_in",), "35"),
    _merge("ask_3", "ASK3", "Largest ask, whole dollars", ("chip_in",), "50"),
    _merge("donate_url", "DONATEURL", "Donation page, donor picks the amount", ("chip_in",),
           "https://secure.actblue.com/donate/example?refcode=crm-c42"),
    _merge("donate_url_1", "DONATE1", "Donation page preset to the first ask", ("chip_in",),
           "https://secure.actblue.com/donate/example?refcode=crm-c42-a1&amount=25"),
    _merge("donate_url_2", "DONATE2", "Donation page preset to the second ask", ("chip_in",),
           "https://secure.actblue.com/donate/example?refcode=crm-c42-a2&amount=35"),
    _merge("donate_url_3", "DONATE3", "Donation page preset to the third ask", ("chip_in",),
           "https://secure.actblue.com/donate/example?refcode=crm-c42-a3&amount=50"),
    _merge("interested_url", "YESURL", "\"Yes, I'm interested in running\" link",
           ("run_for_office",), "https://example.org/r/abc123/yes"),
    _merge("not_now_url", "NOTNOWURL", "\"Not now\" link", ("run_for_office",),
           "https://example.org/r/abc123/not-now"),
    _merge("nominate_url", "NOMURL", "\"I know someone who should run\" link",
           ("run_for_office",), "https://example.org/r/abc123/nominate"),
    _merge("unsubscribe_url", "UNSUB", "Unsubscribe link (every email needs one)", KINDS,
           "https://example.us1.list-manage.com/unsubscribe"),
])
# The same value for every recipient: rendered straight into the content.
CONSTANTS: dict[str, Variable] = {
    "org_name": Variable("org_name", None, "Your organization's name", KINDS,
                         "Badger State Progress"),
    "postal_address": Variable("postal_address", None,
                               "Your organization's postal address (the law requires it)",
                               KINDS, "PO Box 1234, Madison, WI 53701"),
}
TAG_NAMES = {v.tag: name for name, v in VARIABLES.items() if v.tag}

# Only filters that cannot grow output much or reach objects (join and replace can
# multiply a text's length, format and attr reach inside objects).
FILTERS = ("e", "escape", "upper", "lower", "title", "capitalize", "trim", "default", "d",
           "length", "count", "first", "last", "string", "int", "float", "round", "abs",
           "striptags", "truncate", "wordcount")
# Jinja statements an email body may not use. Without loops, macros and {% set %}, the
# output can only be as long as the body's own expressions make it (set could double a
# text line after line).
BANNED = {nodes.For: "{% for %} loops", nodes.Macro: "{% macro %}",
          nodes.Assign: "{% set %}", nodes.AssignBlock: "{% set %}", nodes.With: "{% with %}",
          nodes.CallBlock: "{% call %}", nodes.Call: "calling functions",
          nodes.Include: "{% include %}", nodes.Extends: "{% extends %}",
          nodes.Import: "{% import %}", nodes.FromImport: "{% from … import %}"}
MAX_TEXT = 100_000


@dataclass(frozen=True)
class Problem:
    """Something staff must fix before the email can go out."""

    field: str  # "subject" or "body"
    message: str


class CompileError(ValidationFailed):
    """The body cannot be rendered; ``problems`` says why, in staff words."""

    def __init__(self, problems: list[Problem]) -> None:
        errors: dict[str, str] = {}
        for problem in problems:
            errors[problem.field] = " ".join(filter(None, [errors.get(problem.field),
                                                           problem.message]))
        super().__init__(errors)
        self.problems = problems


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing underscore names that do not exist and big outputs."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Refuse before looking: a missing "_x" would otherwise read as merely undefined.
        if attribute.startswith("_"):
            return self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(argument, str) and argument.startswith("_"):
            return self.unsafe_undefined(obj, argument)
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("calling functions")

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "%":
            raise SecurityError("the % operator")
        if operator_ == "**":
            if (isinstance(left, int) and isinstance(right, int)
                    and abs(left).bit_length() * max(right, 0) > 4096):
                raise SecurityError("a number that large")
            return operator.pow(left, right)
        if operator_ == "+":
            result = operator.add(left, right)
        else:
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) \
                        and len(seq) * times > MAX_TEXT:
                    raise SecurityError(f"text longer than {MAX_TEXT:,} characters")
            result = operator.mul(left, right)
        if isinstance(result, str | list | tuple) and len(result) > MAX_TEXT:
            raise SecurityError(f"text longer than {MAX_TEXT:,} characters")
        return result


def sandbox(*, autoescape: bool = True) -> _Sandbox:
    """Return a fresh sandbox environment for email bodies."""
    env = _Sandbox(autoescape=autoescape, undefined=StrictUndefined)
    env.globals.clear()  # range, cycler, joiner, namespace, lipsum: none is needed here
    env.filters = {name: env.filters[name] for name in FILTERS}
    return env


_ENV = sandbox()


def unknown_message(names: Iterable[str], known: Iterable[str]) -> str:
    """Return the staff message for variables that do not exist, with did-you-mean hints."""
    known = sorted(known)
    parts = []
    for name in sorted(names):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f" (did you mean {{{{ {close[0]} }}}}?)" if close else ""
        parts.append(f"{{{{ {name} }}}}{hint}")
    noun = "Unknown variable" if len(parts) == 1 else "Unknown variables"
    return (f"{noun}: {', '.join(parts)}. Use only the variables listed beside the editor.")


def _printed_names(tree: nodes.Template) -> set[int]:
    """Return the ids of Name nodes that are printed as they are (``{{ x }}`` or ``{{ x|e }}``)."""
    printed = set()
    for output in tree.find_all(nodes.Output):
        for expr in output.nodes:
            while isinstance(expr, nodes.Filter) and expr.name in ("e", "escape"):
                expr = expr.node
            if isinstance(expr, nodes.Name):
                printed.add(id(expr))
    return printed


def undeclared(tree: nodes.Template) -> set[str]:
    """Return the names a body reads without setting them itself."""
    try:
        return meta.find_undeclared_variables(tree)
    except TemplateSyntaxError:
        # Jinja's analysis stops at an unknown filter (reported on its own); fall back to
        # every name read minus every name set, which is close enough for a message.
        names = list(tree.find_all(nodes.Name))
        return ({n.name for n in names if n.ctx == "load"}
                - {n.name for n in names if n.ctx in ("store", "param")})


def static_problems(tree: nodes.Template, known: Iterable[str]) -> list[Problem]:
    """Return what is wrong with a parsed body before running it."""
    problems: list[Problem] = []
    known = set(known)
    hidden: dict[int, list[str]] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", "")
        if isinstance(name, str) and name.startswith("_"):
            hidden.setdefault(node.lineno, []).append(name)
    for line, names in sorted(hidden.items()):
        problems.append(Problem("body", security_message(", ".join(sorted(set(names))), line)))
    unknown = undeclared(tree) - known
    if unknown:
        problems.append(Problem("body", unknown_message(unknown, known)))
    for kind, label in BANNED.items():
        for node in tree.find_all(kind):
            problems.append(Problem("body", f"Line {node.lineno}: {label} can't be used in "
                                            "emails."))
    for node in tree.find_all(nodes.Filter):
        if node.name not in FILTERS:
            problems.append(Problem("body", f"Line {node.lineno}: the filter |{node.name} "
                                            "isn't available in emails."))
    printed = _printed_names(tree)
    misused: dict[str, int] = {}
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name in VARIABLES and id(node) not in printed:
            misused.setdefault(node.name, node.lineno)
    for name, line in misused.items():
        problems.append(Problem("body", (
            f"Line {line}: {{{{ {name} }}}} is filled in by Mailchimp for each person, so it "
            f"can only be printed as it is, like {{{{ {name} }}}}; it can't go in conditions, "
            "filters or other expressions.")))
    return problems


def security_message(detail: str, line: int | None) -> str:
    """Return the staff message for something the sandbox refuses."""
    where = f"Line {line}: " if line else ""
    return (f"{where}this email tries to use something emails aren't allowed to reach "
            f"({detail}). Use only the variables listed beside the editor.")


def refused_message(error: Exception, line: int | None) -> str:
    """Return the staff message for something the sandbox stopped while filling in the body."""
    where = f"Line {line}: " if line else ""
    return f"{where}this email does something emails aren't allowed to do ({error})."


def syntax_problem(error: TemplateSyntaxError) -> Problem:
    """Return the staff message for a template that does not parse."""
    return Problem("body", f"Line {error.lineno}: the template has a syntax error: "
                           f"{error.message}. Check the {{{{ }}}} and {{% %}} around it.")


def parse(body: str) -> tuple[nodes.Template | None, list[Problem]]:
    """Parse a body in the sandbox; return its tree, or None and the syntax problem."""
    try:
        return _ENV.parse(body), []
    except TemplateSyntaxError as error:
        return None, [syntax_problem(error)]


def compile_tree(tree: nodes.Template) -> Template:
    """Compile a parsed, vetted body in the sandbox."""
    return _ENV.from_string(tree)


def used_variables(body: str, fmt: str = "markdown") -> set[str]:
    """Return the known variables a body uses (literal merge tags too); none if it won't parse."""
    # Both formats share the Jinja layer, so ``fmt`` does not change the answer.
    tree, _ = parse(body)
    if tree is None:
        return set()
    names = undeclared(tree) & (VARIABLES.keys() | CONSTANTS.keys())
    names |= {TAG_NAMES[tag] for tag in MERGE_TAG.findall(body) if tag in TAG_NAMES}
    return names


def kind_problems(names: Iterable[str], kind: str) -> list[Problem]:
    """Return a problem for each variable that stays blank in this kind of campaign."""
    problems = []
    for name in sorted(names):
        variable = VARIABLES.get(name)
        if variable and kind not in variable.kinds:
            suits = " or ".join(KIND_NAMES.get(k, k) for k in variable.kinds)
            problems.append(Problem("body", (
                f"{{{{ {name} }}}} is only filled in for a {suits}; in a "
                f"{KIND_NAMES.get(kind, kind)} it would be blank.")))
    return problems
