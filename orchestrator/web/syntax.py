"""Syntax highlighting of diff lines on the server, with Pygments (no script, no CDN).

Each side of a file's diff (old: context and removed lines; new: context and added lines) is
lexed as one text, so a string or docstring spanning lines is coloured as such, then cut back
into lines. Every token's text is HTML-escaped here: the diff is written by the agent and is
untrusted. The colours are CSS classes (Pygments' short token names) whose rules go into the
page's own nonce'd ``<style>``: nothing is inline, so the Content-Security-Policy stays strict."""

from __future__ import annotations

import time
from functools import lru_cache

from markupsafe import Markup, escape
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.lexers.special import TextLexer
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, Token, _TokenType
from pygments.util import ClassNotFound

LIGHT_STYLE = "default"
DARK_STYLE = "github-dark"
MAX_SIDE_CHARS = 200_000
"""A side of a file longer than this is shown plain: lexing cost grows with hostile input."""
MAX_LINE_CHARS = 2_000
PAGE_BUDGET_S = 1.0
"""Lexing time allowed for one page's diffs; what is left when it runs out is shown plain
(Pygments lexes in pure Python, a few thousand lines a second: a huge diff must not hold the page)."""


def lexer_for(path: str) -> Lexer | None:
    """The lexer for a file name, or None when Pygments knows no language for it."""
    try:
        # stripnl off: a leading or trailing blank line must stay a line, or the lines shift.
        return get_lexer_for_filename(path.rsplit("/", 1)[-1], stripnl=False, ensurenl=True)
    except ClassNotFound:
        return None


def _css_class(ttype: _TokenType) -> str:
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    return STANDARD_TYPES[ttype]


def highlight_lines(lexer: Lexer, lines: list[str], deadline: float | None = None) -> list[Markup] | None:
    """Each line as escaped HTML with its tokens in ``<span class="…">``; None when the text is
    too large to lex, lexing passes ``deadline`` (``time.monotonic()``), or the lexer did not give
    back the same lines."""
    if not lines or isinstance(lexer, TextLexer):
        return None
    if sum(len(line) + 1 for line in lines) > MAX_SIDE_CHARS or max(map(len, lines)) > MAX_LINE_CHARS:
        return None
    html: list[list[str]] = [[]]
    raw: list[list[str]] = [[]]
    deadline = deadline if deadline is not None else time.monotonic() + PAGE_BUDGET_S
    for n, (ttype, value) in enumerate(lexer.get_tokens("\n".join(lines) + "\n")):
        if n % 256 == 0 and time.monotonic() > deadline:
            return None
        cls = _css_class(ttype)
        for i, part in enumerate(value.split("\n")):
            if i:
                html.append([])
                raw.append([])
            if part:
                text = str(escape(part))
                html[-1].append(f'<span class="{cls}">{text}</span>' if cls else text)
                raw[-1].append(part)
    # The lexer may rewrite text (tabs, line ends): show colours only if every line is intact.
    if ["".join(parts) for parts in raw[: len(lines)]] != lines:
        return None
    return [Markup("".join(parts)) for parts in html[: len(lines)]]


def _rules(style_name: str, scope: str) -> list[str]:
    style = get_style_by_name(style_name)
    rules = []
    for ttype, cls in sorted(STANDARD_TYPES.items(), key=lambda item: item[1]):
        if not cls or ttype is Token:
            continue
        s = style.style_for_token(ttype)
        decl = [f"color: #{s['color']}" if s["color"] else "", "font-weight: bold" if s["bold"] else "",
                "font-style: italic" if s["italic"] else ""]  # fmt: skip
        decl = [d for d in decl if d]
        if decl:
            rules.append(f"{scope} .{cls} {{ {'; '.join(decl)} }}")
    return rules


@lru_cache(maxsize=1)
def syntax_css(scope: str = ".diff-table .code") -> Markup:
    """The token colours for light pages and, under ``prefers-color-scheme: dark``, dark ones.
    Colours and weight only: the diff rows keep their added/removed backgrounds."""
    light = "\n".join(_rules(LIGHT_STYLE, scope))
    dark = "\n".join("  " + r for r in _rules(DARK_STYLE, scope))
    return Markup(f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n")
