"""The app layer's one-line English errors in the page's language.

The app layer (and the command line) speak English; a page shows the same message in the
account's language. Each known message has a pattern here and a catalogue entry (its id is
the English text with ``%(name)s`` for the parts the pattern captures, which are shown as
they were: a time, a name, a list of ids). A message without a pattern is shown as it is, in
English; the catalogue check (``scripts/web_messages.py --check``) keeps both languages
complete for every pattern listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def _(message: str) -> str:
    """Marks a message id for extraction; it is translated when shown."""
    return message


# (pattern of the English message, catalogue id); the first full match wins.
KNOWN: tuple[tuple[str, str], ...] = (
    # policy.schedule and app.schedules
    (r"not a time of day: (?P<value>.*) \(use HH:MM, 00:00 to 23:59\)",
     _("not a time of day: %(value)s (use HH:MM, 00:00 to 23:59)")),
    (r"not a day or day range: (?P<value>.*) \(use e\.g\. mon-fri, sat,sun or daily\)",
     _("not a day or day range: %(value)s (use e.g. mon-fri, sat,sun or daily)")),
    (r"no days given", _("no days given")),
    (r"a schedule needs a name of 1 to 100 characters",
     _("a schedule needs a name of 1 to 100 characters")),
    (r"unknown category (?P<value>.*) \(known: (?P<known>.*)\)",
     _("unknown category %(value)s (known: %(known)s)")),
    (r"unknown service (?P<value>.*) \(known: (?P<known>.*)\)",
     _("unknown service %(value)s (known: %(known)s)")),
    (r"--allow (?P<value>.*) is not a domain name",
     _("%(value)s is not a domain name")),
    (r"a window either blocks or allows: make two windows",
     _("a window either blocks or allows: make two windows")),
    (r"say what the window does: .*",
     _("say what the window does: block everything, block categories or services, or "
       "allow categories or services")),
    (r"--allow DOMAIN goes with --block-all .*",
     _("the websites still allowed go with a window that blocks everything (bedtime)")),
    (r"an allow window never unblocks (?P<value>.*) \(never lifted: (?P<known>.*)\)",
     _("an allow window never unblocks %(value)s (never lifted: %(known)s)")),
    (r"(?P<child>.*) already has a schedule named (?P<name>.*)",
     _("%(child)s already has a schedule named %(name)s")),
    (r"(?P<child>.*) has no schedule named (?P<name>.*) \(schedules: (?P<known>.*)\)",
     _("%(child)s has no schedule named %(name)s (schedules: %(known)s)")),
    (r"minutes must be 1 to (?P<value>\d+) \(a week\)",
     _("minutes must be 1 to %(value)s (a week)")),
    (r"(?P<value>.*) is not a domain name", _("%(value)s is not a domain name")),
    # policy.budgets and app.budgets
    (r"unknown group (?P<value>.*) \(groups: (?P<known>.*)\)",
     _("unknown group %(value)s (groups: %(known)s)")),
    (r"minutes must be 0 to 1440 a day, not (?P<value>.*)",
     _("minutes must be 0 to 1440 a day, not %(value)s")),
    (r"(?P<child>.*) has no budget for (?P<value>.*)",
     _("%(child)s has no budget for %(value)s")),
    # the pages' own checks of numbers (web.pages, web.policyedit)
    (r"minutes: (?P<value>.*) is not a whole number",
     _("minutes: %(value)s is not a whole number")),
    # app.family (FamilyError: "field: value …")
    (r"(?P<field>[\w\[\]]+): (?P<value>.*) is not one of (?P<known>.*)",
     _("%(field)s: %(value)s is not one of %(known)s")),
    (r"(?P<field>[\w\[\]]+): (?P<value>.*) is not a name \(use some text\)",
     _("%(field)s: %(value)s is not a name (use some text)")),
    (r"(?P<field>[\w\[\]]+): (?P<value>.*) is not a category .*",
     _("%(field)s: %(value)s is not a category")),
    # web.application: a page form with a field missing
    (r"(?P<field>[\w\[\]]+): a value is needed", _("%(field)s: a value is needed")),
    # web.last_resort: what no handler took
    (r"the store cannot be reached or written now .*",
     _("the store cannot be reached or written now (a full disk or a stopped database); "
       "nothing was changed: try again later")),
    (r"internal error; the server log has the details",
     _("internal error; the server log has the details")),
)
PATTERNS = tuple((re.compile(pattern), message) for pattern, message in KNOWN)


def localise(message: str, gettext: Callable[[str], str]) -> str:
    """``message`` in the catalogue's language when it is a known one, else as it is."""
    for pattern, msgid in PATTERNS:
        found = pattern.fullmatch(message)
        if found is not None:
            try:
                return gettext(msgid) % found.groupdict()
            except (KeyError, ValueError, TypeError):  # a catalogue entry with a bad field
                return message
    return message
