"""Every message the web app asks for is in both catalogues and translated; the catalogues
compile, and a page comes out in the language asked for."""

from __future__ import annotations

from safegate.web import i18n
from tests.helpers import load_script


def test_every_message_is_translated_in_every_catalogue() -> None:
    messages = load_script("web_messages")
    ids = messages.extracted()
    assert len(ids) > 50 and "Sign in" in ids and "Would this be blocked now?" in ids
    assert [p for loc in i18n.LOCALES for p in messages.problems(loc, ids)] == []


def test_the_check_finds_an_untranslated_message() -> None:
    messages = load_script("web_messages")
    ids = [*messages.extracted(), "A sentence nobody translated"]
    found = messages.problems("vi", ids)
    assert found == ["vi: missing 'A sentence nobody translated'"]


def test_templates_render_in_vietnamese_by_default_and_in_english() -> None:
    assert i18n.pick_locale(None) == "vi" and i18n.pick_locale("fr") == "vi"
    vi = i18n.environment("vi").get_template("signin.html").render(
        csrf="t", error=None, login="", auth=None, request=None)
    en = i18n.environment("en").get_template("signin.html").render(
        csrf="t", error=None, login="", auth=None, request=None)
    assert '<html lang="vi">' in vi and "Đăng nhập" in vi and "Mật khẩu" in vi
    assert '<html lang="en">' in en and "Sign in" in en and "Đăng nhập" not in en
    assert i18n.gettext_for("vi")("Blocked today: %(n)s") == "Đã chặn hôm nay: %(n)s"


def test_before_signing_in_the_browser_language_decides() -> None:
    assert i18n.browser_locale("en-US,en;q=0.9,vi;q=0.8") == "en"
    assert i18n.browser_locale("vi-VN,vi;q=0.9,en;q=0.8") == "vi"
    assert i18n.browser_locale("fr-FR") == "vi" and i18n.browser_locale(None) == "vi"


def test_plain_messages_are_folded_into_the_compiled_template() -> None:
    env = i18n.environment("vi")
    source = ('{{ _("Sign in") }}|{{ _("Sign in").upper() }}|{{ x._("Sign in") }}|'
              '{{ _("Blocked today: %(n)s", n=3) }}|{% for m in (_("Sign in"),) %}{{ m }}'
              '{% endfor %}')
    asked: list[str] = []

    def counting(message: str, **values: object) -> str:
        asked.append(message)
        return message % values

    class Holder:
        def _(self, text: str) -> str:
            return f"<{text}>"

    out = env.from_string(source).render(x=Holder(), _=counting)
    # Only the message with a value to fill in still asks ``_`` as the template renders;
    # the others are the catalogue's text in the compiled template.
    assert asked == ["Blocked today: %(n)s"]
    assert out == "Đăng nhập|ĐĂNG NHẬP|&lt;Sign in&gt;|Blocked today: 3|Đăng nhập"
    assert "Đăng nhập" in env.compile(source, raw=True)


def test_a_folded_message_is_the_same_markup_as_a_called_one() -> None:
    # A translation with a literal percent sign and markup characters comes out as ``_``
    # gives it (markup, ``%%`` read as ``%``), and a text template gets plain text.
    env = i18n.environment("en")
    catalogue = i18n.translations("en")
    called = i18n.remembered_gettext(catalogue)
    folded = env.from_string('{{ _("100%% of <b>a</b>") }}').render()
    assert folded == "100% of <b>a</b>"
    from jinja2.nodes import EvalContext

    assert folded == called(EvalContext(env), "100%% of <b>a</b>")
    plain = env.from_string('{% autoescape false %}{{ _("a & b") }}{% endautoescape %}')
    assert plain.render() == "a & b"
