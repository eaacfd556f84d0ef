"""The database schema as SQLAlchemy 2 typed models (see ARCHITECTURE.md, "Policy model").

The first Alembic migration creates exactly these tables; a test checks that they agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from safegate.store import choices
from safegate.store.coltypes import BigId, Json, UTCDateTime
from safegate.store.values import (
    new_device_token,
    new_subject,
    normalise_email,
    normalise_ip_cidr,
    normalise_mac,
    utcnow,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """CHECK ("column" = 'a' OR "column" = 'b' ...), named ``ck_<table>_<column>``.

    An OR chain, not IN (...): SQLite rebuilds an IN list's lookup table for every executed
    row, which cost the query log ~40% of its insert rate.
    """
    return CheckConstraint(" OR ".join(f"\"{column}\" = '{v}'" for v in values), name=column)


def _created_at() -> Mapped[datetime]:
    return mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())


class Organisation(Base):
    __tablename__ = "organisation"
    __table_args__ = (one_of("kind", choices.ORG_KINDS),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    timezone: Mapped[str] = mapped_column(
        String(64), default=choices.DEFAULT_TIMEZONE, server_default=choices.DEFAULT_TIMEZONE
    )
    created_at: Mapped[datetime] = _created_at()

    accounts: Mapped[list[Account]] = relationship(back_populates="organisation")
    profiles: Mapped[list[Profile]] = relationship(back_populates="organisation")


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (
        one_of("role", choices.ROLES),
        one_of("locale", choices.LOCALES),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="email_or_phone"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Signed in with an e-mail address or a Vietnamese phone number (E.164, +84…): one of them.
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(5), default="vi", server_default="vi")
    created_at: Mapped[datetime] = _created_at()
    # Sign-in lock-out (migration 0008): wrong passwords in a row, and until when it is locked.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(back_populates="accounts")

    @validates("email")
    def _email(self, _key: str, value: str | None) -> str | None:
        return None if value is None else normalise_email(value)


class WebSession(Base):
    """A signed-in browser (safegate.web): the cookie holds a random token, the store only its
    SHA-256 (``id``), so a copy of the database signs nobody in. ``csrf`` is the token every
    form of this session must carry."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiToken(Base):
    """A bearer token for the API (integrations): scoped (read or write) and revocable; the
    store keeps only its SHA-256."""

    __tablename__ = "api_token"
    __table_args__ = (one_of("scope", choices.TOKEN_SCOPES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = _created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Profile(Base):
    """A child."""

    __tablename__ = "profile"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index(None, "subject", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str] = mapped_column(String(100))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    preset: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created_at()
    # Paused (everything blocked but the allow rules) until this moment; None: not paused.
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Privacy (migration 0009): the child's pseudonym in the audit log; how the age (birth
    # year) was established, by whom and when; processing restricted since (a data-subject
    # request): the gate treats the child's devices with the operator default.
    subject: Mapped[str | None] = mapped_column(String(32), default=new_subject)
    age_source: Mapped[str | None] = mapped_column(String(20))
    age_attested_by: Mapped[str | None] = mapped_column(String(320))
    age_attested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    restricted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organisation: Mapped[Organisation] = relationship(back_populates="profiles")
    devices: Mapped[list[Device]] = relationship(
        back_populates="profile",
        order_by="Device.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    policy: Mapped[Policy | None] = relationship(
        back_populates="profile", cascade="all, delete-orphan", passive_deletes=True
    )
    schedules: Mapped[list[Schedule]] = relationship(
        order_by="Schedule.id", cascade="all, delete-orphan", passive_deletes=True
    )
    budgets: Mapped[list[TimeBudget]] = relationship(
        order_by="TimeBudget.id", cascade="all, delete-orphan", passive_deletes=True
    )
    consents: Mapped[list[Consent]] = relationship(
        order_by="Consent.id", cascade="all, delete-orphan", passive_deletes=True
    )


class Device(Base):
    __tablename__ = "device"
    __table_args__ = (one_of("kind", choices.DEVICE_KINDS),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profile.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="other", server_default="other")
    ip_cidr: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(17))
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_device_token)
    created_at: Mapped[datetime] = _created_at()

    profile: Mapped[Profile] = relationship(back_populates="devices")

    @validates("mac")
    def _mac(self, _key: str, value: str | None) -> str | None:
        return None if value is None else normalise_mac(value)

    @validates("ip_cidr")
    def _ip_cidr(self, _key: str, value: str | None) -> str | None:
        return None if value is None else normalise_ip_cidr(value)


class Policy(Base):
    """A child's filtering policy; ``version`` goes up with every change (optimistic lock)."""

    __tablename__ = "policy"
    __table_args__ = (
        one_of("youtube_mode", choices.YOUTUBE_MODES),
        one_of("block_mode", choices.BLOCK_MODES),
        one_of("log_level", choices.LOG_LEVELS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profile.id", ondelete="CASCADE"), unique=True
    )
    blocked_categories: Mapped[list[str]] = mapped_column(
        Json, default=list, server_default=text("'[]'")
    )
    blocked_services: Mapped[list[str]] = mapped_column(
        Json, default=list, server_default=text("'[]'")
    )
    allow: Mapped[list[str]] = mapped_column(Json, default=list, server_default=text("'[]'"))
    deny: Mapped[list[str]] = mapped_column(Json, default=list, server_default=text("'[]'"))
    safe_search: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    youtube_mode: Mapped[str] = mapped_column(
        String(10), default="moderate", server_default="moderate"
    )
    block_mode: Mapped[str] = mapped_column(String(10), default="null", server_default="null")
    log_level: Mapped[str] = mapped_column(String(10), default="full", server_default="full")
    bypass_protection: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Services allowed although a category would block their domains, and services logged
    # and reported but never blocked.
    allowed_services: Mapped[list[str]] = mapped_column(
        Json, default=list, server_default=text("'[]'")
    )
    monitored_services: Mapped[list[str]] = mapped_column(
        Json, default=list, server_default=text("'[]'")
    )
    # Only the allow rules and allowed services resolve; everything else gets the block answer.
    allow_list_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Decree 147/2024's game limits for under-18s (60 minutes a game, 180 minutes a day).
    decree147: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.now()
    )

    profile: Mapped[Profile] = relationship(back_populates="policy")

    __mapper_args__: dict[str, Any] = {"version_id_col": version}


class Schedule(Base):
    """A weekly window in the household's time zone. ``days``: bit 0 Monday … bit 6 Sunday
    (the day the window starts); ``end_minute`` <= ``start_minute`` crosses midnight. A
    ``block`` window blocks its categories and services (or everything but ``allow`` with
    ``block_all``: bedtime); an ``allow`` window lifts them (recreation time)."""

    __tablename__ = "schedule"
    __table_args__ = (
        UniqueConstraint("profile_id", "name"),
        one_of("action", choices.SCHEDULE_ACTIONS),
        CheckConstraint("days >= 1 AND days <= 127", name="days"),
        CheckConstraint("start_minute >= 0 AND start_minute < 1440 AND end_minute >= 0 "
                        "AND end_minute < 1440", name="minutes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profile.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    days: Mapped[int] = mapped_column(Integer)
    start_minute: Mapped[int] = mapped_column(Integer)
    end_minute: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    block_all: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    categories: Mapped[list[str]] = mapped_column(Json, default=list, server_default=text("'[]'"))
    services: Mapped[list[str]] = mapped_column(Json, default=list, server_default=text("'[]'"))
    allow: Mapped[list[str]] = mapped_column(Json, default=list, server_default=text("'[]'"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The class whose school hours put the window on the child (it leaves with the child);
    # None for the child's own windows.
    class_id: Mapped[int | None] = mapped_column(
        ForeignKey("school_class.id", ondelete="SET NULL"), index=True, default=None)


class TimeBudget(Base):
    """Minutes a day for a service (its id) or a group of services (``group:<group>``)."""

    __tablename__ = "time_budget"
    __table_args__ = (
        UniqueConstraint("profile_id", "target"),
        CheckConstraint("minutes_per_day >= 0 AND minutes_per_day <= 1440", name="minutes"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(64))
    minutes_per_day: Mapped[int] = mapped_column(Integer)


class BudgetUsage(Base):
    """One minute of a local day in which a child's device used a budgeted target."""

    __tablename__ = "budget_usage"

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profile.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True)


class TemporaryAllow(Base):
    """A domain a parent allowed for a while (``until``, UTC)."""

    __tablename__ = "temporary_allow"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profile.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(String(253))
    until: Mapped[datetime] = mapped_column(UTCDateTime())


class UnblockRequest(Base):
    """A child's request to open a blocked domain, and the parent's decision."""

    __tablename__ = "unblock_request"
    __table_args__ = (one_of("status", choices.REQUEST_STATUSES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profile.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"))
    domain: Mapped[str] = mapped_column(String(253))
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    created_at: Mapped[datetime] = _created_at()
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(320))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class QueryLog(Base):
    """One DNS query. No foreign key on profile_id: inserts stay cheap and rows outlive profiles
    until the retention purge removes them."""

    __tablename__ = "query_log"
    __table_args__ = (
        one_of("action", choices.QUERY_ACTIONS),
        Index(None, "ts"),
        Index(None, "profile_id", "ts"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float)  # unix epoch seconds
    client_ip: Mapped[str] = mapped_column(String(64))
    profile_id: Mapped[int | None] = mapped_column(Integer)
    qname: Mapped[str] = mapped_column(Text)
    qtype: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(Text)
    # Rows are per time window: how many identical queries the window saw.
    hits: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ListSource(Base):
    """A blocklist the operator subscribes to (file path or URL)."""

    __tablename__ = "list_source"
    __table_args__ = (
        one_of("match", choices.LIST_MATCHES),
        one_of("format", choices.LIST_FORMATS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    location: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64))
    match: Mapped[str] = mapped_column(String(10), default="suffix", server_default="suffix")
    format: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    update_interval_s: Mapped[int] = mapped_column(
        Integer, default=86400, server_default=text("86400")
    )
    etag: Mapped[str | None] = mapped_column(String(255))
    last_modified: Mapped[str | None] = mapped_column(String(64))  # HTTP Last-Modified value
    last_update: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    entry_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class AuditLog(Base):
    """Who viewed, changed, exported or disclosed what (ARCHITECTURE.md, "Data protection").

    Append-only and hash-chained (safegate.privacy.audit, migration 0009): ``seq`` counts the
    entries from 1, ``prev_hash`` is the previous entry's ``hash``, and ``hash`` covers every
    field, so an edited, removed or reordered entry breaks the chain. A child is named by its
    pseudonym (``subject``), never by name or free text."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "ts"), Index(None, "object_type", "object_id"),
                      Index(None, "subject"), Index(None, "seq", unique=True))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict, server_default=text("'{}'"))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    role: Mapped[str | None] = mapped_column(String(20))
    org_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: outlives the org
    subject: Mapped[str | None] = mapped_column(String(32))
    why: Mapped[str | None] = mapped_column(String(200))
    legal_basis: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """The one row holding the audit chain's end: how many entries and the last hash. The
    appending transaction updates it first, which orders concurrent writers, and a removed
    last entry shows as a head the table no longer reaches."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    last_hash: Mapped[str] = mapped_column(String(64), default="", server_default="")


class Consent(Base):
    """A consent for one purpose, given by a parent or by the child (aged 7 or over), with the
    version and language of the text shown, and its withdrawal."""

    __tablename__ = "consent"
    __table_args__ = (
        one_of("purpose", choices.CONSENT_PURPOSES),
        one_of("given_by", choices.CONSENT_GIVERS),
        one_of("method", choices.CONSENT_METHODS),
        one_of("language", choices.LOCALES),
        Index(None, "profile_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(24))
    given_by: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(320))
    text_version: Mapped[str] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5))
    method: Mapped[str] = mapped_column(String(12))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[str | None] = mapped_column(String(320))


class DataSubjectRequest(Base):
    """A request to access, correct, restrict or erase a child's data, due 72 hours after it
    was opened."""

    __tablename__ = "dsr"
    __table_args__ = (
        one_of("kind", choices.DSR_KINDS),
        one_of("requested_by", choices.CONSENT_GIVERS),
        one_of("status", choices.DSR_STATUSES),
        one_of("language", choices.LOCALES),
        Index(None, "profile_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    requested_by: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(5))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fulfilled_by: Mapped[str | None] = mapped_column(String(320))


class Breach(Base):
    """A suspected or confirmed personal-data breach and what was done about it.

    ``children`` holds the affected children's pseudonyms (``Profile.subject``), never names;
    ``description`` and ``measures`` are an operator's words with personal data redacted. The
    72-hour clock runs from the earlier of ``occurred_at`` (when known) and ``detected_at``."""

    __tablename__ = "breach"
    __table_args__ = (one_of("risk", choices.BREACH_RISKS),
                      one_of("status", choices.BREACH_STATUSES))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id",
                                                          ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(320))
    data_classes: Mapped[list[str]] = mapped_column(Json, default=list)
    children: Mapped[list[str]] = mapped_column(Json, default=list)
    children_count: Mapped[int] = mapped_column(Integer, default=0)
    risk: Mapped[str] = mapped_column(String(10))
    measures: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    authority_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subjects_informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    late_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Notice(Base):
    """Something an operator must act on (a data request or a breach whose deadline is near or
    past), raised once by the jobs leader, shown by the CLI and the web app until seen."""

    __tablename__ = "notice"
    __table_args__ = (one_of("kind", choices.NOTICE_KINDS),
                      UniqueConstraint("kind", "object_type", "object_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int] = mapped_column(Integer)
    org_id: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seen_by: Mapped[str | None] = mapped_column(String(320))


__all__ = [
    "Account",
    "ApiToken",
    "AuditHead",
    "AuditLog",
    "Base",
    "Breach",
    "ChangeLog",
    "ChangeVersion",
    "Consent",
    "DataSubjectRequest",
    "Device",
    "ListSource",
    "Notice",
    "Organisation",
    "Policy",
    "Profile",
    "QueryLog",
    "WebSession",
]


class DomainCategory(Base):
    """A category for one domain that no list knows: found by the content-safety engine
    (``source`` auto, with its confidence) or set by an operator, whose word always wins.
    The category ``allow`` (operators only) means: never block this domain by category."""

    __tablename__ = "domain_category"
    __table_args__ = (one_of("source", choices.CATEGORY_SOURCES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    category: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    source: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, server_default=func.now()
    )


class SeenDomain(Base):
    """A registrable domain the gate resolved that no list or rule knew: the queue the
    content-safety engine works through."""

    __tablename__ = "seen_domain"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    first_seen: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    queries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    classified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Alert(Base):
    """Something a parent should know about a child's conversation (safegate.protect).

    ``snippet`` is ciphertext (safegate.privacy.crypto): a short excerpt around the evidence,
    personal data already replaced by typed placeholders, never the whole conversation.
    ``created_at`` and ``last_seen_at`` are the times of the first and latest messages behind the
    alert; ``count`` is how many detections were deduplicated into it. ``feedback`` is the
    parent's "helpful" or "wrong", set from the web app; with ``found_by`` (the engine layer
    behind the evidence shown) it tells how often each layer's alerts help.
    """

    __tablename__ = "alert"
    __table_args__ = (
        one_of("category", choices.ALERT_CATEGORIES),
        one_of("severity", choices.ALERT_SEVERITIES),
        one_of("feedback", choices.ALERT_FEEDBACK),
        one_of("found_by", choices.ALERT_FOUND_BY),
        Index(None, "profile_id", "conversation", "category", "created_at"),
        Index(None, "profile_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = _created_at()
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    conversation: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    score: Mapped[float] = mapped_column(Float)
    snippet: Mapped[str] = mapped_column(Text)
    guidance: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    feedback: Mapped[str | None] = mapped_column(String(10))
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    found_by: Mapped[str | None] = mapped_column(String(12))  # None: stored before 0004


class ChangeVersion(Base):
    """The one row holding the change bus's version (safegate.app.bus): every change to policy,
    lists or domain categories adds one to it in the changing transaction. The row lock taken by
    that UPDATE orders concurrent writers, so versions become visible in commit order."""

    __tablename__ = "change_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigId, default=0, server_default=text("0"))


class ChangeLog(Base):
    """One announced change: its version (from ``change_version``), what it touched and why."""

    __tablename__ = "change_log"
    __table_args__ = (one_of("kind", choices.CHANGE_KINDS), Index(None, "at"))

    version: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    # The children whose policy the change touched (ids), or NULL: anything may have moved.
    profiles: Mapped[list[int] | None] = mapped_column(Json, nullable=True)


class NotifyPrefs(Base):
    """How one account wants alerts (safegate.app.notify): e-mail and Web Push on or off,
    quiet hours (local "HH:MM" in the organisation's time zone; both empty: none) during which
    only urgent alerts are sent, the least severity worth a message, and whether last week's
    report comes by e-mail. No row: the defaults (e-mail on, push off, no quiet hours, every
    severity, weekly report on)."""

    __tablename__ = "notify_prefs"
    __table_args__ = (one_of("min_severity", choices.ALERT_SEVERITIES),)

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    push: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    min_severity: Mapped[str] = mapped_column(String(10), default="warning",
                                              server_default="warning")
    # Last week's report by e-mail on Monday morning (app/report_mail.py).
    weekly_report: Mapped[bool] = mapped_column(Boolean, default=True,
                                                server_default=true())


class PushSubscription(Base):
    """A browser's Web Push subscription of an account: the push service's endpoint and the
    browser's public key and auth secret the message is encrypted to (RFC 8291)."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = _created_at()


class DeliveryTries:
    """The columns of a message's delivery record: ``status`` (sent, failed, gave_up),
    ``tries``, when to try again, when it was sent and the last failure in one line
    (protect.delivery.outcome decides them)."""

    status: Mapped[str] = mapped_column(String(10))
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))

    def tried(self, status: str, tries: int, error: str | None, next_try: datetime | None,
              now: datetime) -> None:
        """Record the ``tries``-th try: its outcome, its error (None when sent) and when
        to try again."""
        self.status, self.tries, self.last_error = status, tries, error
        self.sent_at = now if error is None else None
        self.next_try_at = next_try


class AlertDelivery(DeliveryTries, Base):
    """One alert's delivery to one account on one channel: ``sent`` (never again, unless the
    alert has since become urgent: ``severity`` is the one last tried), ``failed`` (tried
    ``tries`` times, next at ``next_try_at``) or ``gave_up``. ``last_error`` is one line
    naming the failure, never a password or the message."""

    __tablename__ = "alert_delivery"
    __table_args__ = (
        one_of("channel", choices.NOTIFY_CHANNELS),
        one_of("status", choices.DELIVERY_STATUSES),
        one_of("severity", choices.ALERT_SEVERITIES),
        UniqueConstraint("alert_id", "account_id", "channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(10))


class ReportDelivery(DeliveryTries, Base):
    """Last week's report e-mail to one account (safegate.app.report_mail): ``week`` is the
    week's Monday (ISO date, the organisation's local days); ``sent`` (never again), ``failed``
    (tried ``tries`` times, next at ``next_try_at``) or ``gave_up``. ``last_error`` is one
    line naming the failure, never a password or the message."""

    __tablename__ = "report_delivery"
    __table_args__ = (
        one_of("status", choices.DELIVERY_STATUSES),
        UniqueConstraint("account_id", "week"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(10))


class PasswordReset(Base):
    """A password-reset link sent by e-mail (safegate.app.password_reset): the store keeps
    only the token's SHA-256; it works once (``used_at``) and until ``expires_at``."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SchoolClass(Base):
    """A class of a school organisation in one school year (e.g. 6A, "2026-2027")."""

    __tablename__ = "school_class"
    __table_args__ = (UniqueConstraint("org_id", "name", "school_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                        index=True)
    name: Mapped[str] = mapped_column(String(100))
    school_year: Mapped[str] = mapped_column(String(9))
    created_at: Mapped[datetime] = _created_at()


class ClassMember(Base):
    """A child (profile) in a class: at most one class per child."""

    __tablename__ = "class_member"

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("profile.id", ondelete="CASCADE"), primary_key=True)
    class_id: Mapped[int] = mapped_column(
        ForeignKey("school_class.id", ondelete="CASCADE"), index=True)


class ClassTeacher(Base):
    """A teacher's account assigned to a class: the teacher reads its children only."""

    __tablename__ = "class_teacher"

    class_id: Mapped[int] = mapped_column(
        ForeignKey("school_class.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True, index=True)


class Invite(Base):
    """A single-use, expiring link that lets a second parent or a teacher set up an account:
    the organisation and role are the invite's, never the invitee's form. Only the token's
    SHA-256 is stored."""

    __tablename__ = "invite"
    __table_args__ = (one_of("role", choices.INVITE_ROLES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"),
                                        index=True)
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created_at()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"))


class AccountTotp(Base):
    """An account's TOTP second factor (migration 0013): the shared secret, encrypted with the
    field keyring (context ``totp:<account id>``); unconfirmed until a first code checks, and
    the last time step used, so that a code works once."""

    __tablename__ = "account_totp"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            unique=True)
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created_at()
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_codes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RecoveryCode(Base):
    """A single-use recovery code of an account's second factor, stored as its digest."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"),
                                            index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChildLink(Base):
    """A link a child can hold (migration 0017): the address of the child's own read-only
    page (what SafeGate keeps about them) that opens without an adult's session. Only the
    token's SHA-256 is stored; a child has at most one link (a new one replaces it), and a
    stopped link is deleted (the audit log keeps that it existed). ``language`` is the page's
    words unless the child picks others; ``last_opened_at`` lets the parent see that it is
    used."""

    __tablename__ = "child_link"
    __table_args__ = (one_of("language", choices.LOCALES),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("profile.id", ondelete="CASCADE"),
                                            unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(5))
    created_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created_at()
    last_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
