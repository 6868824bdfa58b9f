"""Sandboxed Jinja2 templates and the plain-text rendering of HTML."""

from __future__ import annotations

import pytest

from services.email.templates import (
    TemplateProblem,
    check_syntax,
    html_to_text,
    render,
    text_to_html,
)

CUSTOMER = {"customer": {"name": "Ada", "tags": ["vip"]}}


def test_html_is_escaped_and_text_is_not() -> None:
    rendered = render("Hi {{ customer.name }}", "{{ x }}", "<p>{{ x }}</p>",
                      {**CUSTOMER, "x": "<b>&</b>"})
    assert rendered.subject == "Hi Ada"
    assert rendered.text == "<b>&</b>"
    assert rendered.html == "<p>&lt;b&gt;&amp;&lt;/b&gt;</p>"


def test_text_part_is_derived_from_html() -> None:
    rendered = render("s", None, '<h1>Sale</h1><p>Up to <b>50%</b> off.<br>Today only</p>'
                      '<ul><li>Shoes</li><li>Hats</li></ul><a href="https://x.example/s">Shop</a>'
                      "<style>p{color:red}</style>", {})
    assert rendered.text == ("Sale\n\nUp to 50% off.\nToday only\n\n- Shoes\n- Hats\n\n"
                             "Shop (https://x.example/s)\n")


@pytest.mark.parametrize(("source", "message"), [
    ("{{ missing }}", "missing variable"),
    ("{{ customer.__class__.__mro__ }}", "not allowed"),
    ("{{ customer.tags.append(1) }}", "not allowed"),
])
def test_undefined_and_unsafe_expressions_are_refused(source: str, message: str) -> None:
    with pytest.raises(TemplateProblem) as caught:
        render("s", source, None, CUSTOMER)
    assert message in caught.value.message
    assert caught.value.part == "text"


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(TemplateProblem) as caught:
        check_syntax("html", "<p>\n{% for x in %}</p>")
    assert caught.value.part == "html"
    assert caught.value.message.startswith("line 2:")


def test_text_to_html_escapes_and_keeps_paragraphs() -> None:
    html = text_to_html("a < b\nnext line\n\nsecond")
    assert "<p>a &lt; b<br>\nnext line</p>\n<p>second</p>" in html
    assert html_to_text(html) == "a < b\nnext line\n\nsecond\n"


def test_typed_custom_fields_are_template_variables() -> None:
    from services.email.compose import customer_context

    customer = {"name": "Ada Lovelace", "email": None, "phone": None, "company": None,
                "city": None, "country": None, "stage": "LEAD", "tags": [],
                "custom_fields": {"tier": "gold", "budget": "1500.50", "topics": ["ml", "crm"]}}
    rendered = render("{{ customer.custom_fields.tier }} for {{ customer.first_name }}",
                      "{{ customer.custom_fields.budget }}: "
                      "{{ customer.custom_fields.topics | join(', ') }}", None,
                      {"customer": customer_context(customer)})
    assert rendered.subject == "gold for Ada"
    assert rendered.text == "1500.50: ml, crm"
