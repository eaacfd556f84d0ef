"""Vietnamese (default) and English for the web app: gettext catalogues kept as Babel ``.po``
files in ``web/locale`` and compiled to ``.mo`` in memory when the web app starts (no build
step and no compiled file in the repository); one Jinja2 environment per language."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, FileSystemLoader, pass_eval_context, select_autoescape
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.nodes import EvalContext
from markupsafe import Markup

from safegate.web.security import csrf_input

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
HERE = Path(__file__).resolve().parent
LOCALE_DIR = HERE / "locale"
TEMPLATES = HERE / "templates"


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@cache
def translations(locale: str) -> gettext.GNUTranslations:
    """The catalogue of ``locale``, compiled from its .po file."""
    if locale not in LOCALES:
        locale = DEFAULT_LOCALE
    with po_path(locale).open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_locale(value: str | None) -> str:
    return value if value in LOCALES else DEFAULT_LOCALE


def browser_locale(accept_language: str | None) -> str:
    """English when the browser puts English first, else Vietnamese (before anyone signs in,
    and on the block page)."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else DEFAULT_LOCALE


def gettext_for(locale: str) -> Callable[[str], str]:
    return translations(pick_locale(locale)).gettext


@cache
def environment(locale: str) -> Environment:
    """The template environment of one language (``_``/``gettext`` are its catalogue's)."""
    # The templates are the package's files: no stat of each one on every page (auto_reload).
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(),
                      extensions=["jinja2.ext.i18n", ConstantMessages], trim_blocks=True,
                      lstrip_blocks=True, auto_reload=False)
    catalogue = translations(pick_locale(locale))
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.globals["_"] = remembered = remembered_gettext(catalogue)
    env.filters[ConstantMessages.FILTER] = remembered
    env.globals["token"] = csrf_input
    env.globals["lang"] = pick_locale(locale)
    return env


class ConstantMessages(Extension):
    """``_("a message")`` with nothing to fill in becomes ``("a message"|_message)`` as a
    template is compiled. The filter is the same ``_``, and it needs no context, so the
    compiler folds it into the translated text: every environment is one language, and its
    compiled templates hold their messages as constants instead of calling ``_`` for each
    one on every page (the child's page had some sixty calls). The source keeps ``_(...)``,
    which the message extraction reads."""

    FILTER = "_message"

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        window: list[Token] = []
        before = ""  # the type of the last token given out
        for token in stream:
            window.append(token)
            while window:
                if not _may_open(window, before):
                    before = window[0].type
                    yield window.pop(0)
                    continue
                if len(window) < 4:
                    break
                name, _open, text, _close = window
                window.clear()
                for kind, value in (("lparen", "("), ("string", text.value), ("pipe", "|"),
                                    ("name", self.FILTER), ("rparen", ")")):
                    yield Token(name.lineno, kind, value)
                before = "rparen"
        yield from window


_SHAPE = (("name", "_"), ("lparen", None), ("string", None), ("rparen", None))


def _may_open(window: list[Token], before: str) -> bool:
    """Do the tokens so far start ``_("text")`` (not an attribute ``x._(``)?"""
    if before == "dot":
        return False
    return all(t.type == kind and (value is None or t.value == value)
               for t, (kind, value) in zip(window, _SHAPE, strict=False))


def remembered_gettext(catalogue: gettext.NullTranslations) -> Callable[..., str]:
    """The templates' ``_``: what jinja2's new-style ``gettext`` gives (the translation, as
    markup when the template escapes, ``%``-formatted with the keyword arguments), with each
    message's translation and markup made once instead of on every call (a page calls ``_``
    some sixty times; jinja2's alias took three calls and two new objects for each)."""
    marked: dict[str, Markup] = {}
    plain: dict[str, Markup] = {}  # messages asked without arguments, formatted once

    @pass_eval_context
    def _(eval_ctx: EvalContext, message: str, **variables: Any) -> str:
        if not eval_ctx.autoescape:
            return catalogue.gettext(message) % variables
        if not variables:
            done = plain.get(message)
            if done is None:
                done = plain[message] = Markup(catalogue.gettext(message)) % {}
            return done
        rv = marked.get(message)
        if rv is None:
            rv = marked[message] = Markup(catalogue.gettext(message))
        return rv % variables

    return _
