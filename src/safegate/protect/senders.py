"""How a notification leaves the machine: by e-mail (SMTP) or Web Push (RFC 8030/8291 with
VAPID, RFC 8292). Each sender has one method, ``send``, that raises :class:`SendError` with
one line saying what failed (never the password, never the message).

The VAPID key pair is generated on first use into the data directory (``vapid_private.pem``,
mode 0600); browsers subscribe with its public key, so it must stay the same afterwards.
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
from dataclasses import dataclass
from email import message_from_string, policy
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from safegate.files import private_dir, publish_private
from safegate.protect.delivery import Message

__all__ = ["Gone", "PushSender", "SendError", "SmtpSender", "Subscription", "vapid_keys"]

VAPID_FILE = "vapid_private.pem"
SUBJECT_LINE = 76  # RFC 5322 asks for lines of 78 at most; RFC 2047 encoded words have 75


class SendError(Exception):
    """A send that failed; the text is one line safe for a log."""


class Gone(SendError):
    """The push service says the subscription no longer exists (HTTP 404 or 410)."""


@dataclass(frozen=True, slots=True)
class SmtpSender:
    """E-mail through an SMTP server (STARTTLS before logging in, unless turned off)."""

    host: str
    port: int
    sender: str  # the From address
    user: str = ""
    password: str = ""
    starttls: bool = True
    timeout: float = 20.0

    def __repr__(self) -> str:  # the password never reaches a log through a repr
        return f"SmtpSender({self.host}:{self.port}, from={self.sender!r})"

    def send(self, to: str, message: Message) -> None:
        # The Subject comes in through the parser, folded by us: the email library refolds
        # any header a program sets, and its folding (CPython 3.11) drops the space between
        # two encoded words ('23/11 đến' arrived as '23/11đến'). A parsed header whose lines
        # fit in 78 characters is sent as it is (EmailPolicy.refold_source 'long').
        mail: EmailMessage = message_from_string(
            f"Subject: {_fold_subject(message.subject)}\n\n", policy=policy.default)
        mail["From"] = self.sender
        mail["To"] = to
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"SMTP {self.host}:{self.port}: login refused "
                            f"({exc.smtp_code})") from None
        except smtplib.SMTPNotSupportedError:
            raise SendError(f"SMTP {self.host}:{self.port}: the server does not offer "
                            f"STARTTLS (set notify.smtp_starttls = false only on a trusted "
                            f"network)") from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP {self.host}:{self.port}: refused with "
                            f"{exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP {self.host}:{self.port}: {type(exc).__name__}: "
                            f"{_first_line(exc)}") from None


def _fold_subject(subject: str) -> str:
    """``subject`` as a Subject header's folded value (lines joined by \\n, none longer than
    76 with ``Subject: ``) that unfolds and decodes to exactly ``subject``: as it is when it is
    printable ASCII that folds at its spaces, else as RFC 2047 UTF-8 encoded words, split
    between characters and with the spaces inside them (so no unfolding can lose one, and no
    line break in ``subject`` can start another header)."""
    if subject.isascii() and subject.isprintable() and "=?" not in subject:
        plain = Header(subject, header_name="Subject", maxlinelen=SUBJECT_LINE).encode(
            splitchars=" ")
        lines = f"Subject: {plain}".split("\n")
        if plain.replace("\n", "") == subject and max(map(len, lines)) <= SUBJECT_LINE:
            return plain
    return Header(subject, "utf-8", header_name="Subject", maxlinelen=SUBJECT_LINE).encode()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:200]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def vapid_keys(data_dir: Path) -> tuple[bytes, str]:
    """(private key PEM, public key as the browser's applicationServerKey: base64url of the
    uncompressed P-256 point), made on first use (two processes racing keep the first)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = Path(data_dir) / VAPID_FILE
    if not path.exists():
        private_dir(path.parent)
        key = ec.generate_private_key(ec.SECP256R1())
        publish_private(path, key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    pem = path.read_bytes()
    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise SendError(f"{path} does not hold a P-256 key")
    public = loaded.public_key().public_bytes(serialization.Encoding.X962,
                                              serialization.PublicFormat.UncompressedPoint)
    return pem, _b64url(public)


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict[str, object]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True, slots=True)
class PushSender:
    """Web Push: the payload (JSON: title, body, url) encrypted to the subscription's keys
    (aes128gcm) and signed with the VAPID key."""

    private_pem: bytes
    subject: str
    timeout: float = 20.0

    def __repr__(self) -> str:
        return f"PushSender(subject={self.subject!r})"

    def send_to(self, subscription: Subscription, message: Message) -> None:
        from py_vapid import Vapid02
        from pywebpush import WebPushException, webpush

        try:
            webpush(subscription.info(), json.dumps(message.push_payload(), ensure_ascii=False),
                    vapid_private_key=Vapid02.from_pem(self.private_pem),
                    vapid_claims={"sub": self.subject}, timeout=self.timeout, ttl=86_400)
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            where = _origin(subscription.endpoint)
            if status in (404, 410):
                raise Gone(f"push {where}: the subscription is gone ({status})") from None
            raise SendError(f"push {where}: refused with {status}" if status else
                            f"push {where}: {_first_line(exc)}") from None
        except Exception as exc:  # requests' connection errors, a bad key in the store
            raise SendError(f"push {_origin(subscription.endpoint)}: {type(exc).__name__}: "
                            f"{_first_line(exc)}") from None


def _origin(endpoint: str) -> str:
    """The push service's origin only (the endpoint's path identifies the browser)."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"
