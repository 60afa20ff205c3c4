"""Turn a staff-written campaign body into the HTML and text Mailchimp sends (pure).

The body (markdown or HTML) is a Jinja template run in a sandbox (see email_checks).
Per-recipient variables come out as Mailchimp merge tags such as ``*|FNAME|*``, which
Mailchimp fills in for each member; campaign constants are rendered straight in.

While rendering, each merge variable stands as a plain alphanumeric token that markdown,
the CSS inliner and the text converter all leave alone; only at the end do the tokens
become ``*|TAG|*`` (markdown would read ``*|FNAME|*`` as emphasis).
"""

from __future__ import annotations

import html as html_lib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import css_inline
import markdown
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig
from jinja2 import Environment, FileSystemLoader, Template, TemplateSyntaxError
from jinja2.sandbox import SecurityError
from markupsafe import Markup

from .email_checks import (
    CONSTANTS,
    MERGE_TAG,
    VARIABLES,
    CompileError,
    Problem,
    Variable,
    compile_tree,
    kind_problems,
    parse,
    refused_message,
    static_problems,
    syntax_problem,
    used_variables,
)
from .starters import email_folder

__all__ = ["CONSTANTS", "FORMATS", "VARIABLES", "CompileError", "Problem", "RenderedEmail",
           "Variable", "check", "render", "substitute", "used_variables"]

FORMATS = ("markdown", "html")
POSTAL_SETTING = "CRM_ORG_POSTAL_ADDRESS"
_MARKDOWN_EXTENSIONS = ("extra", "sane_lists")
# Never fetch stylesheets a body links to: rendering must not make the server call out.
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False)
_FULL_DOCUMENT = re.compile(r"\s*(<!doctype|<html[\s>])", re.IGNORECASE)
# inscriptis writes a link as [text](url); a plain-text email reads better as "text (url)".
_TEXT_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)\)")


@dataclass(frozen=True)
class RenderedEmail:
    """An email's content with merge tags in place, ready to hand to Mailchimp."""

    html: str
    text: str
    variables: frozenset[str]  # the known variables the body uses
    merge_tags: frozenset[str]  # the merge tags the content carries, e.g. {"FNAME", "UNSUB"}


class _Tokens:
    """Stand-ins for merge tags that survive markdown, CSS inlining and text conversion."""

    def __init__(self) -> None:
        # A fresh nonce per render, so no staff text can collide with a token.
        self.nonce = secrets.token_hex(6)
        self.tags: list[str] = []
        self.pattern = re.compile(rf"mt{self.nonce}x(\d+)x")

    def token(self, tag: str) -> str:
        if tag not in self.tags:
            self.tags.append(tag)
        return f"mt{self.nonce}x{self.tags.index(tag)}x"

    def protect(self, text: str) -> str:
        """Replace literal merge tags typed by staff with tokens."""
        return MERGE_TAG.sub(lambda m: self.token(m.group(1)), text)

    def restore(self, text: str) -> str:
        """Replace tokens with merge tags."""
        return self.pattern.sub(lambda m: f"*|{self.tags[int(m.group(1))]}|*", text)


def one_line_address(address: str) -> str:
    """Return a postal address on one line, its lines joined by commas."""
    lines = (line.strip().rstrip(",").strip() for line in address.splitlines())
    return ", ".join(line for line in lines if line)


def _squash(text: str) -> str:
    # Compare addresses ignoring case, commas and how lines were broken.
    return " ".join(text.replace(",", " ").split()).casefold()


@lru_cache(maxsize=1)
def _layout() -> Template:
    env = Environment(loader=FileSystemLoader(str(email_folder())), autoescape=True)
    return env.get_template("layout.html")


def _error_line(error: BaseException) -> int | None:
    """Return the body line a runtime error happened on (Jinja maps its frames to lines)."""
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _context(tokens: _Tokens, org_name: str, postal_address: str,
             constants: Mapping[str, str] | None) -> dict[str, str]:
    extra = dict(constants or {})
    clash = extra.keys() & (VARIABLES.keys() | CONSTANTS.keys())
    if clash:
        raise ValueError(f"constants may not redefine {sorted(clash)}")
    context = {name: tokens.token(v.tag) for name, v in VARIABLES.items() if v.tag}
    context.update(org_name=org_name, postal_address=one_line_address(postal_address))
    context.update({name: str(value) for name, value in extra.items()})
    return context


def _to_text(document: str) -> str:
    # The strict profile does not pad nested blocks with spaces, as the relaxed one does.
    text = get_text(document, ParserConfig(css=CSS_PROFILES["strict"], display_links=True))

    def link(match: re.Match[str]) -> str:
        label, url = " ".join(match.group(1).split()), match.group(2)
        return url if label in ("", url) else f"{label} ({url})"

    lines = [line.rstrip() for line in _TEXT_LINK.sub(link, text).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def _build(body: str, *, fmt: str, subject: str, preview_text: str, org_name: str,
           postal_address: str, constants: Mapping[str, str] | None,
           ) -> tuple[RenderedEmail | None, list[Problem]]:
    """Render the body to merge-tag content, or return None and the problems stopping it."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    tokens = _Tokens()
    context = _context(tokens, org_name, postal_address, constants)
    tree, problems = parse(body)
    if tree is None:
        return None, problems
    problems = static_problems(tree, context.keys())
    if problems:
        return None, problems
    try:
        out = compile_tree(tree).render(context)
    except SecurityError as error:
        return None, [Problem("body", refused_message(error, _error_line(error)))]
    except TemplateSyntaxError as error:
        return None, [syntax_problem(error)]
    except Exception as error:  # staff text must give a form error, never a server error
        line = _error_line(error)
        where = f"Line {line}: " if line else ""
        return None, [Problem("body", f"{where}this part of the email can't be filled in: "
                                      f"{error}.")]
    out = tokens.protect(out)
    if fmt == "markdown":
        out = markdown.markdown(out, extensions=list(_MARKDOWN_EXTENSIONS))
    if fmt == "html" and _FULL_DOCUMENT.match(out):
        document = out  # staff pasted a whole document: keep their layout
    else:
        document = _layout().render(subject=subject, preview_text=preview_text,
                                    content=Markup(out))
    try:
        inlined = _INLINER.inline(document)
    except css_inline.InlineError as error:
        return None, [Problem("body", f"The email's styles can't be applied: {error}.")]
    html = tokens.restore(inlined)
    return RenderedEmail(html=html, text=tokens.restore(_to_text(inlined)),
                         variables=frozenset(used_variables(body, fmt)),
                         merge_tags=frozenset(MERGE_TAG.findall(html))), []


def render(body: str, *, fmt: str, subject: str, preview_text: str, org_name: str,
           postal_address: str, constants: Mapping[str, str] | None = None) -> RenderedEmail:
    """Render a campaign body to merge-tag HTML and text, or raise CompileError."""
    rendered, problems = _build(body, fmt=fmt, subject=subject, preview_text=preview_text,
                                org_name=org_name, postal_address=postal_address,
                                constants=constants)
    if rendered is None:
        raise CompileError(problems)
    return rendered


def check(body: str, *, fmt: str, subject: str, org_name: str, postal_address: str,
          preview_text: str = "", constants: Mapping[str, str] | None = None,
          kind: str | None = None) -> list[Problem]:
    """Return everything staff must fix before this email may be sent (never raises for them)."""
    problems: list[Problem] = []
    if not subject.strip():
        problems.append(Problem("subject", "Add a subject line."))
    elif re.search(r"{{|{%", subject):
        problems.append(Problem("subject", "Variables like {{ first_name }} only work in the "
                                           "body; in the subject write the merge tag, such "
                                           "as *|FNAME|*."))
    rendered, body_problems = _build(body, fmt=fmt, subject=subject, preview_text=preview_text,
                                     org_name=org_name, postal_address=postal_address,
                                     constants=constants)
    problems += body_problems
    if rendered is not None:
        has_unsubscribe = "UNSUB" in rendered.merge_tags
        has_address = (_squash(one_line_address(postal_address))
                       in _squash(rendered.text))
    else:
        # The body does not render yet; look at its source so fixing one problem does not
        # uncover another the staff could have been told about now.
        has_unsubscribe = bool(re.search(r"\bunsubscribe_url\b|\*\|UNSUB\|\*", body))
        has_address = bool(re.search(r"\bpostal_address\b", body))
    if not has_unsubscribe:
        example = ("[Unsubscribe]({{ unsubscribe_url }})" if fmt == "markdown"
                   else '<a href="{{ unsubscribe_url }}">Unsubscribe</a>')
        problems.append(Problem("body", "The footer needs an unsubscribe link: add "
                                        f"{example}."))
    if not postal_address.strip():
        problems.append(Problem("body", (
            "The organization's postal address isn't set, and the law (CAN-SPAM) requires it "
            f"in every email. Ask an administrator to set it in settings ({POSTAL_SETTING}).")))
    elif not has_address:
        problems.append(Problem("body", (
            "The footer needs the organization's postal address (the law, CAN-SPAM, requires "
            "it): add {{ postal_address }}.")))
    if kind is not None:
        problems += kind_problems(used_variables(body, fmt), kind)
    return problems


def substitute(content: str, values: Mapping[str, str], *, html: bool,
               keep_unknown: bool = False) -> str:
    """Fill in each merge tag with a recipient's value, as Mailchimp does; unknown ones go
    blank, or with ``keep_unknown`` stay as they are (for Mailchimp to fill in later)."""

    def fill(match: re.Match[str]) -> str:
        if keep_unknown and match.group(1) not in values:
            return match.group(0)
        value = values.get(match.group(1)) or ""
        return html_lib.escape(value, quote=True) if html else value

    return MERGE_TAG.sub(fill, content)

