"""Campaign bodies: merge tags, layout and CSS, the checks staff see, the sandbox, starters."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.sandbox import SecurityError

from campaigns.email_checks import sandbox
from campaigns.email_render import (
    VARIABLES,
    CompileError,
    Problem,
    check,
    render,
    substitute,
    used_variables,
)
from campaigns.starters import STARTERS, starter
from crm.errors import ValidationFailed

ORG = "Badger State Progress"
ADDRESS = "PO Box 1234\nMadison, WI 53701"
FOOTER_MD = "\n\n{{ org_name }}, {{ postal_address }}. [Unsubscribe]({{ unsubscribe_url }})\n"
FOOTER_HTML = ('<p>{{ org_name }}, {{ postal_address }}. '
               '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>')
UNSUBSCRIBE_MD = ("The footer needs an unsubscribe link: add "
                  "[Unsubscribe]({{ unsubscribe_url }}).")
UNSUBSCRIBE_HTML = ('The footer needs an unsubscribe link: add '
                    '<a href="{{ unsubscribe_url }}">Unsubscribe</a>.')
POSTAL = ("The footer needs the organization's postal address (the law, CAN-SPAM, requires "
          "it): add {{ postal_address }}.")


def rendered(body: str, fmt: str = "markdown", **overrides: Any) -> Any:
    options: dict[str, Any] = {"subject": "Chip in?", "preview_text": "Before Friday",
                               "org_name": ORG, "postal_address": ADDRESS, **overrides}
    return render(body, fmt=fmt, **options)


def problems(body: str, fmt: str = "markdown", **overrides: Any) -> list[str]:
    options: dict[str, Any] = {"subject": "Chip in?", "org_name": ORG,
                               "postal_address": ADDRESS, **overrides}
    return [p.message for p in check(body, fmt=fmt, **options)]


def test_markdown_variables_become_merge_tags_in_html_and_text() -> None:
    email = rendered("Hi {{ first_name }},\n\n[Chip in ${{ ask_1 }}]({{ donate_url_1 }})"
                     + FOOTER_MD)
    assert re.search(r"<p[^>]*>Hi \*\|FNAME\|\*,</p>", email.html)
    assert re.search(r'<a href="\*\|DONATE1\|\*"[^>]*>Chip in \$\*\|ASK1\|\*</a>', email.html)
    assert "<em>" not in email.html
    assert "Hi *|FNAME|*," in email.text
    assert "Chip in $*|ASK1|* (*|DONATE1|*)" in email.text
    assert "Unsubscribe (*|UNSUB|*)" in email.text
    assert email.merge_tags == {"FNAME", "ASK1", "DONATE1", "UNSUB"}
    assert email.variables == {"first_name", "ask_1", "donate_url_1", "unsubscribe_url",
                               "org_name", "postal_address"}


def test_html_variables_become_merge_tags() -> None:
    email = rendered('<p>Hi {{ first_name }} {{ last_name }} ({{ email }})</p>'
                     '<p><a href="{{ interested_url }}">Yes</a></p>' + FOOTER_HTML, "html")
    assert ">Hi *|FNAME|* *|LNAME|* (*|EMAIL|*)</p>" in email.html
    assert 'href="*|YESURL|*"' in email.html
    assert "Yes (*|YESURL|*)" in email.text


def test_literal_merge_tags_survive_markdown() -> None:
    email = rendered("Hi *|FNAME|*, and *|MC_PREVIEW_TEXT|*" + FOOTER_MD)
    assert "Hi *|FNAME|*, and *|MC_PREVIEW_TEXT|*" in email.html
    assert "<em>" not in email.html
    assert problems("Thanks! [Leave]( *|UNSUB|* ) {{ postal_address }}") == []


def test_css_is_inlined_and_the_preview_text_is_a_hidden_preheader() -> None:
    email = rendered('<style>.note { color: #123456 }</style><p class="note">Hello</p>'
                     + FOOTER_HTML, "html", preview_text="Read before Friday")
    assert re.search(r'<p class="note" style="[^"]*color: #123456;?[^"]*">Hello</p>', email.html)
    assert "<style" not in email.html
    assert re.search(r'<td class="content" style="[^"]*font-family', email.html)
    assert re.search(r'<div style="display: none[^"]*">Read before Friday</div>', email.html)
    assert "Read before Friday" not in email.text
    assert "<title>Chip in?</title>" in email.html


def test_linked_stylesheets_are_not_fetched() -> None:
    email = rendered('<link rel="stylesheet" href="http://127.0.0.1:9/x.css"><p>Hi</p>'
                     + FOOTER_HTML, "html")
    assert "127.0.0.1" not in email.html


def test_constants_are_escaped_in_html_and_plain_in_text() -> None:
    email = rendered('From {{ org_name }} and <b title="{{ candidate }}">{{ candidate }}</b>'
                     + FOOTER_MD, org_name="Smith & <Jones>",
                     constants={"candidate": 'Ana "Rep" Ruiz'})
    assert ('From Smith &amp; &lt;Jones&gt; and <b title="Ana &quot;Rep&quot; Ruiz">'
            'Ana "Rep" Ruiz</b>') in email.html
    assert "From Smith & <Jones> and Ana \"Rep\" Ruiz" in email.text
    assert "PO Box 1234, Madison, WI 53701" in email.text


def test_a_whole_html_document_keeps_its_own_layout() -> None:
    body = ("<!DOCTYPE html><html><head><style>p { color: red }</style></head><body>"
            + FOOTER_HTML + "</body></html>")
    email = rendered(body, "html")
    assert 'class="content"' not in email.html
    assert '<p style="color: red;">' in email.html


def test_a_footer_without_unsubscribe_is_a_problem() -> None:
    assert problems("Hi\n\n{{ postal_address }}") == [UNSUBSCRIBE_MD]
    assert problems("<p>Hi {{ postal_address }}</p>", "html") == [UNSUBSCRIBE_HTML]


def test_a_footer_without_the_postal_address_is_a_problem() -> None:
    assert problems("Hi [Unsubscribe]({{ unsubscribe_url }})") == [POSTAL]
    typed = "Hi. PO Box 1234, Madison WI 53701. [Unsubscribe]({{ unsubscribe_url }})"
    assert problems(typed) == []
    wrong = "Hi. PO Box 99, Madison WI 53701. [Unsubscribe]({{ unsubscribe_url }})"
    assert problems(wrong) == [POSTAL]


def test_an_unset_postal_address_names_the_setting() -> None:
    [message] = problems("Hi {{ postal_address }} {{ unsubscribe_url }}", postal_address=" ")
    assert "postal address isn't set" in message
    assert "CRM_ORG_POSTAL_ADDRESS" in message


def test_an_empty_subject_is_a_problem() -> None:
    found = check("Hi" + FOOTER_MD, fmt="markdown", subject="  ", org_name=ORG,
                  postal_address=ADDRESS)
    assert found == [Problem("subject", "Add a subject line.")]
    assert [p.field for p in check("Hi" + FOOTER_MD, fmt="markdown",
                                   subject="{{ first_name }}, hi", org_name=ORG,
                                   postal_address=ADDRESS)] == ["subject"]


def test_an_unknown_variable_is_named_with_a_suggestion() -> None:
    [message] = problems("Hi {{ frist_name }}" + FOOTER_MD)
    assert message == ("Unknown variable: {{ frist_name }} (did you mean {{ first_name }}?). "
                       "Use only the variables listed beside the editor.")
    with pytest.raises(CompileError) as caught:
        rendered("Hi {{ frist_name }}, {{ doante_url }}" + FOOTER_MD)
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.status_code == 422
    assert "did you mean {{ donate_url }}?" in caught.value.errors["body"]
    assert "did you mean {{ first_name }}?" in caught.value.errors["body"]


def test_a_syntax_error_gives_its_line() -> None:
    [message] = problems("Hi,\n\nplease {{ first_name }\n" + FOOTER_MD)
    assert message.startswith("Line 3: the template has a syntax error")
    [message] = problems("Hi\n{% if org_name %}\nno end" + FOOTER_MD)
    assert "syntax error" in message


@pytest.mark.parametrize(("body", "expected"), [
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "aren't allowed to reach (__class__"),
    ("{{ cycler.__init__.__globals__ }}", "Unknown variable: {{ cycler }}"),
    ("{{ cycler.__init__.__globals__ }}", "aren't allowed to reach (__globals__, __init__)"),
    ("{{ config }}", "Unknown variable: {{ config }}"),
    ("{{ request }}", "Unknown variable: {{ request }}"),
    ("{{ org_name._private }}", "aren't allowed to reach (_private)"),
    ("{{ org_name['__class__'] }}", "aren't allowed to reach (__class__)"),
    ("{{ self.__init__ }}", "aren't allowed to reach (__init__)"),
    ("{{ org_name|attr('__class__') }}", "the filter |attr isn't available"),
    ("{{ org_name.upper() }}", "calling functions can't be used"),
    ("{% for x in org_name %}{{ x }}{% endfor %}", "{% for %} loops can't be used"),
    ("{% include 'crm/base.html' %}", "{% include %} can't be used"),
    ("{% set x = org_name %}", "{% set %} can't be used"),
    ("line\n{{ 'x' * 10000000 }}", "Line 2: this email does something emails aren't allowed "
                                   "to do (text longer than 100,000 characters)"),
    ("{{ 9 ** 99999 }}", "(a number that large)"),
    ("{{ '%999999999d' % 1 }}", "(the % operator)"),
    ("a\n\n{{ 1 / 0 }}", "Line 3: this part of the email can't be filled in"),
    ("{% if first_name %}Hi{% endif %}", "{{ first_name }} is filled in by Mailchimp"),
    ("{{ first_name|upper }}", "{{ first_name }} is filled in by Mailchimp"),
])
def test_the_sandbox_refuses_with_a_problem_not_an_exception(body: str, expected: str) -> None:
    found = problems(body + FOOTER_MD)
    assert any(expected in message for message in found), found
    with pytest.raises(CompileError) as caught:
        rendered(body + FOOTER_MD)
    assert caught.value.problems
    assert all(p.field == "body" for p in caught.value.problems)


def test_the_sandbox_itself_refuses_hidden_names_and_calls() -> None:
    env = sandbox()
    for source in ("{{ x._y }}", "{{ x.__class__ }}", "{{ x.upper() }}", "{{ x * 999999 }}"):
        with pytest.raises(SecurityError):
            env.from_string(source).render(x="abc")
    assert env.from_string("{{ x }} {{ 2 + 3 }} {{ x * 2 }}").render(x="<b>") == (
        "&lt;b&gt; 5 &lt;b&gt;&lt;b&gt;")


def test_variables_that_stay_blank_for_the_kind_are_problems() -> None:
    body = "Hi {{ first_name }}, {{ ask_1 }}" + FOOTER_MD
    assert problems(body, kind="chip_in") == []
    [message] = problems(body, kind="run_for_office")
    assert message == ("{{ ask_1 }} is only filled in for a chip-in appeal; in a "
                       "run-for-office ask it would be blank.")


def test_substitute_escapes_in_html_only() -> None:
    content = '<a href="*|DONATE1|*">Hi *|FNAME|*</a> *|UNKNOWN|* *|LNAME|*'
    values = {"FNAME": 'Tom & "Jerry" <x>', "DONATE1": "https://x.org/?a=1&b=2"}
    assert substitute(content, values, html=True) == (
        '<a href="https://x.org/?a=1&amp;b=2">Hi Tom &amp; &quot;Jerry&quot; &lt;x&gt;</a>  ')
    assert substitute("Hi *|FNAME|* (*|DONATE1|*) *|NOPE|*", values, html=False) == (
        'Hi Tom & "Jerry" <x> (https://x.org/?a=1&b=2) ')


@settings(max_examples=50, deadline=None)
@given(name=st.text(max_size=40))
def test_a_preview_shows_each_value_exactly(name: str) -> None:
    email = rendered("Hi {{ first_name }}!" + FOOTER_MD)
    values = {"FNAME": name, "UNSUB": "https://u.example/x"}
    assert f">Hi {html.escape(name, quote=True)}!</p>" in substitute(email.html, values,
                                                                      html=True)
    assert f"Hi {name}!" in substitute(email.text, values, html=False)


FRAGMENTS = ["{{", "}}", "{%", "%}", "{#", "#}", " first_name ", " org_name ", "if", "endif",
             "*|", "|*", "FNAME", "[", "](", ")", '<a href="', '">', "</a>", "<style>",
             "</style>", "\n", "\n\n", "*", "_", "#", "'", ".", "__class__", "x", "<", "&"]


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(st.sampled_from(FRAGMENTS), max_size=25),
       fmt=st.sampled_from(["markdown", "html"]))
def test_any_body_gives_an_email_or_problems_never_a_crash(parts: list[str], fmt: str) -> None:
    body = "".join(parts)
    found = check(body, fmt=fmt, subject="S", org_name=ORG, postal_address=ADDRESS)
    assert all(p.field in ("subject", "body") and p.message for p in found)
    try:
        email = rendered(body, fmt)
    except CompileError as error:
        assert error.problems
    else:
        assert not re.search(r"mt[0-9a-f]{12}x\d+x", email.html + email.text)


@pytest.mark.parametrize("kind", sorted(STARTERS))
def test_each_starter_renders_and_passes_the_checks(kind: str) -> None:
    start = starter(kind)
    assert start.fmt == "markdown"
    assert start.subject and start.preview_text
    assert not start.body.startswith("Subject:")
    assert check(start.body, fmt=start.fmt, subject=start.subject, org_name=ORG,
                 postal_address=ADDRESS, kind=kind) == []
    email = rendered(start.body, subject=start.subject, preview_text=start.preview_text)
    assert "UNSUB" in email.merge_tags
    assert "{{" not in email.html and "{{" not in email.text
    assert "Madison, WI 53701" in email.text


def test_the_chip_in_starter_has_three_asks_and_another_amount() -> None:
    email = rendered(starter("chip_in").body)
    for n in (1, 2, 3):
        assert re.search(rf'<a class="button" href="\*\|DONATE{n}\|\*"[^>]*>'
                         rf"Chip in \$\*\|ASK{n}\|\*</a>", email.html)
        assert f"Chip in $*|ASK{n}|* (*|DONATE{n}|*)" in email.text
    assert 'href="*|DONATEURL|*"' in email.html


def test_the_run_for_office_starter_has_its_three_answers() -> None:
    email = rendered(starter("run_for_office").body)
    assert "Yes, I'm interested in running (*|YESURL|*)" in email.text
    assert "Not now (*|NOTNOWURL|*)" in email.text
    assert "I know someone who should run (*|NOMURL|*)" in email.text


def test_an_unknown_starter_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed) as caught:
        starter("newsletter")
    assert "kind" in caught.value.errors


def test_used_variables() -> None:
    body = ("{{ first_name }} {{ donate_url_2 }} *|UNSUB|* {{ org_name }} {{ nope }}"
            "{% if org_name %}{{ ask_3 }}{% endif %}")
    assert used_variables(body, "markdown") == {"first_name", "donate_url_2",
                                                "unsubscribe_url", "org_name", "ask_3"}
    assert used_variables("{{ broken", "html") == set()


def test_the_variable_table() -> None:
    tags = {name: v.tag for name, v in VARIABLES.items()}
    assert tags == {"first_name": "FNAME", "last_name": "LNAME", "email": "EMAIL",
                    "ask_1": "ASK1", "ask_2": "ASK2", "ask_3": "ASK3",
                    "donate_url": "DONATEURL", "donate_url_1": "DONATE1",
                    "donate_url_2": "DONATE2", "donate_url_3": "DONATE3",
                    "interested_url": "YESURL", "not_now_url": "NOTNOWURL",
                    "nominate_url": "NOMURL", "unsubscribe_url": "UNSUB"}
    assert all(v.description and v.example and v.kinds for v in VARIABLES.values())
