"""Extract the web app's messages (templates and Python) and update its catalogues.

    python scripts/web_messages.py          # add new messages to every .po (untranslated),
                                            # drop the ones no longer used
    python scripts/web_messages.py --check  # exit 1 if a message is missing or untranslated

The catalogues are src/safegate/web/locale/{vi,en}/LC_MESSAGES/messages.po; the web app
compiles them in memory when it starts (safegate.web.i18n), so no .mo file is kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "src" / "safegate" / "web"
LOCALES = ("vi", "en")
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


HEADER = """# The SafeGate web app's messages (%(lang)s). Message ids are English.
# Update with: python scripts/web_messages.py; check with --check.
#"""


def extracted() -> list[str]:
    """Every message id the web app asks for, in first-seen order."""
    ids: dict[str, None] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(WEB), METHODS, OPTIONS, keywords={"_": None, "gettext": None}):
        if isinstance(message, str):
            ids.setdefault(message, None)
    return list(ids)


def po_path(locale: str) -> Path:
    return WEB / "locale" / locale / "LC_MESSAGES" / "messages.po"


def read(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale)
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def problems(locale: str, ids: list[str]) -> list[str]:
    """What is wrong with one catalogue: missing, untranslated or fuzzy messages."""
    catalog = read(locale)
    out = []
    for mid in ids:
        m = catalog.get(mid)
        if m is None:
            out.append(f"{locale}: missing {mid!r}")
        elif not m.string or m.fuzzy:
            out.append(f"{locale}: untranslated {mid!r}")
    return out


def update(locale: str, ids: list[str]) -> None:
    old = read(locale)
    # The header keeps its dates, so that regenerating an unchanged catalogue changes nothing.
    new = Catalog(locale=locale, project="SafeGate", version="0.1",
                  copyright_holder="SafeGate contributors", msgid_bugs_address="",
                  header_comment=HEADER % {"lang": locale}, charset="utf-8",
                  creation_date=old.creation_date, revision_date=old.revision_date,
                  fuzzy=False)
    for mid in ids:
        m = old.get(mid)
        new.add(mid, m.string if m is not None else "")
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, new, omit_header=False, sort_output=False, width=100)


def main(argv: list[str]) -> int:
    ids = extracted()
    if "--check" in argv:
        found = [p for loc in LOCALES for p in problems(loc, ids)]
        print("\n".join(found) or f"{len(ids)} messages, all translated")
        return 1 if found else 0
    for loc in LOCALES:
        update(loc, ids)
    print(f"{len(ids)} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
