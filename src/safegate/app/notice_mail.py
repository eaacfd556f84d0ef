"""Deadline notices by e-mail to the operators: when the jobs leader raises a notice (a data
request or a breach report due within a day, or overdue; ``app/notices.py``), every operator
account with an e-mail address and e-mail on in its notification settings gets one message,
in its language, listing the notices raised in that run, with a link to the deadlines page
when ``notify.base_url`` is set. The message names the request or breach number and the
organisation, never a child. Without ``notify.smtp_host`` nothing is sent; a failed send is
logged and not retried (the notice stays on the page, and an overdue notice follows a
reminder)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from safegate.app.core import App
from safegate.app.notices import list_notices
from safegate.app.notify import email_sender
from safegate.protect.delivery import Message
from safegate.protect.senders import SendError
from safegate.store.models import Account, NotifyPrefs

__all__ = ["compose_notices", "mail_notices"]

log = logging.getLogger(__name__)

_TEXT = {
    "vi": {"subject": "SafeGate: {n} hạn xử lý cần anh/chị",
           "intro": "SafeGate vừa ghi nhận các hạn xử lý sau:",
           "dsr.reminder": "Yêu cầu dữ liệu {id} đến hạn trong vòng một ngày",
           "dsr.overdue": "Yêu cầu dữ liệu {id} đã quá hạn",
           "breach.reminder": "Báo cáo sự cố {id} đến hạn trong vòng một ngày",
           "breach.overdue": "Báo cáo sự cố {id} đã quá hạn",
           "due": "hạn {due} UTC",
           "open": "Xem và đánh dấu đã xem: {url}",
           "cli": "Hoặc dùng dòng lệnh: safegate notices"},
    "en": {"subject": "SafeGate: {n} deadline(s) need you",
           "intro": "SafeGate has just raised these deadlines:",
           "dsr.reminder": "Data request {id} is due within a day",
           "dsr.overdue": "Data request {id} is overdue",
           "breach.reminder": "Breach report {id} is due within a day",
           "breach.overdue": "Breach report {id} is overdue",
           "due": "due {due} UTC",
           "open": "See them and mark them seen: {url}",
           "cli": "Or on the command line: safegate notices"},
}


def compose_notices(notices: list[dict[str, Any]], *, locale: str, base_url: str) -> Message:
    """One operator's message about ``notices`` (rows of ``list_notices``) in ``locale`` (vi
    or en). Pure."""
    text = _TEXT[locale if locale in _TEXT else "vi"]
    body = [text["intro"], ""]
    for n in notices:
        what = text.get(n["kind"], n["kind"]).format(id=n["object_id"])
        where = f" ({n['org']})" if n["org"] else ""
        due = text["due"].format(due=n["due_at"][:16].replace("T", " "))  # UTC, to the minute
        body.append(f"- {what}{where}: {due}, {n['time_left']}.")
    url = f"{base_url.rstrip('/')}/operator/notices" if base_url else None
    body += ["", text["open"].format(url=url) if url else text["cli"]]
    return Message(subject=text["subject"].format(n=len(notices)), body="\n".join(body),
                   url=url)


def mail_notices(app: App, created: datetime, *,
                 send: Callable[[str, Message], None] | None = None) -> int:
    """Mail the notices raised at ``created`` (``raise_notices``'s ``now``) to the operators;
    the number of messages sent. ``send`` defaults to the settings' SMTP sender."""
    send = send if send is not None else email_sender(app.settings)
    if send is None:
        return 0
    lines = list_notices(app, everything=True, created=created, now=created)
    if not lines:
        return 0
    with app.sessions()() as session:
        readers = [(a.id, a.email, a.locale) for a, wants in session.execute(
            select(Account, NotifyPrefs.email)
            .outerjoin(NotifyPrefs, NotifyPrefs.account_id == Account.id)
            .where(Account.role == "operator", Account.email.is_not(None))
            .order_by(Account.id)) if wants is not False]
    base_url = app.settings["notify.base_url"]
    sent = 0
    for account_id, address, locale in readers:
        try:
            send(str(address), compose_notices(lines, locale=locale, base_url=base_url))
            sent += 1
        except SendError as exc:
            log.warning("deadline notices to operator account %d: %s", account_id, exc)
    return sent
