"""Email templates: sandboxed Jinja2 (HTML escaped by default) and a plain-text rendering of HTML.

Templates are written by users of the CRM, so they run in Jinja's immutable sandbox: no
attribute access to Python internals, no mutation of the data handed in, bounded ``range``.
Undefined variables are errors, so a missing variable is reported instead of sent as a blank.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_CHARS = 200_000
_ENV_TEXT = ImmutableSandboxedEnvironment(
    autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True
)
_ENV_HTML = ImmutableSandboxedEnvironment(
    autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
)


class TemplateProblem(ValueError):
    """A template that does not parse or cannot be rendered; ``part`` says which one."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part
        self.message = message


@dataclass(frozen=True)
class Rendered:
    """A rendered message: subject, plain text (always present) and optional HTML."""

    subject: str
    text: str
    html: str | None


def check_syntax(part: str, source: str | None) -> None:
    """Raise TemplateProblem if ``source`` is not a valid template."""
    if source is None:
        return
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateProblem(part, f"must be at most {MAX_TEMPLATE_CHARS} characters")
    env = _ENV_HTML if part == "html" else _ENV_TEXT
    try:
        env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(part, f"line {exc.lineno}: {exc.message}") from None


def syntax_error(part: str, source: str | None) -> str | None:
    """What is wrong with ``source`` as a template, or None when it parses."""
    try:
        check_syntax(part, source)
    except TemplateProblem as exc:
        return exc.message
    return None


@lru_cache(maxsize=256)
def _compiled(part: str, source: str) -> Template:
    # a campaign renders the same template for every customer: compile it once
    return (_ENV_HTML if part == "html" else _ENV_TEXT).from_string(source)


def render_part(part: str, source: str, context: Mapping[str, Any]) -> str:
    """One part rendered; undefined variables and sandbox violations raise TemplateProblem."""
    try:
        return _compiled(part, source).render(context)
    except UndefinedError as exc:
        raise TemplateProblem(part, f"missing variable: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateProblem(part, f"not allowed in templates: {exc}") from None
    except TemplateSyntaxError as exc:
        raise TemplateProblem(part, f"line {exc.lineno}: {exc.message}") from None
    except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise TemplateProblem(part, f"cannot be rendered: {exc}") from None


def render(
    subject: str, text: str | None, html_source: str | None, context: Mapping[str, Any]
) -> Rendered:
    """Render a whole message; the text part is derived from the HTML when there is none."""
    rendered_subject = " ".join(render_part("subject", subject, context).split())
    rendered_html = render_part("html", html_source, context) if html_source else None
    if text:
        rendered_text = render_part("text", text, context)
    elif rendered_html is not None:
        rendered_text = html_to_text(rendered_html)
    else:
        raise TemplateProblem("text", "a template needs a text or an HTML body")
    return Rendered(rendered_subject, rendered_text, rendered_html)


def text_to_html(text: str) -> str:
    """A minimal HTML version of plain text: escaped, paragraphs and line breaks kept."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    body = "\n".join(
        "<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paragraphs if p
    )
    head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>'
    return f"{head}\n{body}\n</body></html>\n"


_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "tr",
           "blockquote", "section", "article", "header", "footer"}
_SKIPPED = {"script", "style", "head", "title"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.out.append("\n\n")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and href.startswith(("http://", "https://", "mailto:")):
                self.out.append(f" ({href.removeprefix('mailto:')})")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(source: str) -> str:
    """Readable plain text of an HTML body (block structure, list items and link targets kept)."""
    parser = _TextExtractor()
    parser.feed(source)
    parser.close()
    lines = [line.strip() for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
