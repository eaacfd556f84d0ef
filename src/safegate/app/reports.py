"""Daily and weekly reports per child: blocked attempts by category and by day, the most
blocked sites, minutes used against each time budget (``app.budgets``' shared counter) and
the alerts raised, over the household's local days.

A report needs the ``reports`` consent (from the parent, and from the child aged 7+:
``privacy.consent``): without it :func:`child_report` raises ConsentError with the one line
that says what to record. Making a report is recorded in the audit log.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from safegate.app import budgets as budget_ops
from safegate.app.activity import local_range, retention_of
from safegate.app.consent import require_consent
from safegate.app.core import App
from safegate.policy.decide import category_of
from safegate.policy.schedule import zone
from safegate.policy.timestate import zone_ok
from safegate.privacy import audit
from safegate.store.models import Alert, Organisation, Profile, QueryLog

PERIODS = ("day", "week", "month", "range")
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}  # "month": the 30 days ending on the day
MAX_RANGE_DAYS = 92  # "range": any first and last day, at most a quarter apart
TOP = 10


@dataclass(frozen=True, slots=True)
class BudgetUse:
    target: str
    minutes: int  # the daily limit
    used: list[tuple[date, int]]  # minutes used each day of the report

    @property
    def over_days(self) -> int:
        return sum(1 for _, m in self.used if m >= self.minutes)


@dataclass(frozen=True, slots=True)
class ChildReport:
    child_id: int
    child: str
    timezone: str
    period: str
    days: list[date]
    blocked_total: int
    by_category: list[tuple[str, int]]  # most first
    by_day: list[tuple[date, int]]
    top_blocked: list[tuple[str, int]]
    alerts: int
    budgets: list[BudgetUse] = field(default_factory=list)
    log_level: str = "full"  # in effect: with ``off`` nothing is logged to report on

    @property
    def first(self) -> date:
        return self.days[0]

    @property
    def last(self) -> date:
        return self.days[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"child_id": self.child_id, "child": self.child, "timezone": self.timezone,
                "period": self.period, "from": self.first.isoformat(),
                "to": self.last.isoformat(), "blocked_total": self.blocked_total,
                "blocked_by_category": [{"category": c, "count": n}
                                        for c, n in self.by_category],
                "blocked_by_day": [{"day": d.isoformat(), "count": n} for d, n in self.by_day],
                "top_blocked": [{"domain": d, "count": n} for d, n in self.top_blocked],
                "alerts": self.alerts, "log_level": self.log_level,
                "budgets": [{"target": b.target, "minutes_per_day": b.minutes,
                             "used": [{"day": d.isoformat(), "minutes": m} for d, m in b.used]}
                            for b in self.budgets]}


def report_days(period: str, last: date, first: date | None = None) -> list[date]:
    """The local days a report covers: ``last`` alone, the 7 or 30 days ending on it, or for
    a ``range`` every day from ``first`` to ``last``. Pure."""
    if period not in PERIODS:
        raise ValueError(f"period: {period!r} is not one of {', '.join(PERIODS)}")
    if period != "range":
        count = PERIOD_DAYS[period]
        return [last - timedelta(days=count - 1 - i) for i in range(count)]
    if first is None:
        raise ValueError("from: a range needs its first day")
    count = (last - first).days + 1
    if count < 1:
        raise ValueError(f"from: {first.isoformat()} is after the last day, "
                         f"{last.isoformat()}")
    if count > MAX_RANGE_DAYS:
        raise ValueError(f"from: a report covers at most {MAX_RANGE_DAYS} days "
                         f"({count} asked)")
    return [first + timedelta(days=i) for i in range(count)]


def parse_day(value: str | None, tz: str, now: datetime | None = None,
              what: str = "day") -> date:
    """A report's last day (YYYY-MM-DD; empty: today in ``tz``)."""
    if not value:
        return (now or datetime.now(UTC)).astimezone(zone(tz)).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def child_report(app: App, profile_id: int, period: str = "week", day: str | None = None,
                 *, first: str | None = None, actor: str,
                 now: datetime | None = None) -> ChildReport:
    """The report of a child (already checked by ``app.access``) over its local days: the
    ``period`` ending on ``day`` or, with ``first``, every day from ``first`` to ``day``
    (the period ``range``)."""
    ref = f"id:{profile_id}"
    require_consent(app, ref, "reports", "reports", now)
    with app.sessions()() as session:
        profile = session.get_one(Profile, profile_id)
        tz = zone_ok(session.get_one(Organisation, profile.org_id).timezone)
        name = profile.name
    if first:
        period = "range"
    days = report_days(period, parse_day(day, tz, now),
                       parse_day(first, tz, now, "from") if first else None)
    start, end = local_range(tz, days[0], days[-1])
    assert start is not None and end is not None
    with app.sessions().begin() as session:
        rows = session.execute(select(QueryLog.ts, QueryLog.qname, QueryLog.reason,
                                      QueryLog.hits).where(
            QueryLog.profile_id == profile_id, QueryLog.action == "block",
            QueryLog.ts >= start, QueryLog.ts < end)).all()
        alerts = session.scalar(select(func.count()).select_from(Alert).where(
            Alert.profile_id == profile_id,
            Alert.created_at >= datetime.fromtimestamp(start, UTC),
            Alert.created_at < datetime.fromtimestamp(end, UTC))) or 0
        profile = session.get_one(Profile, profile_id)
        level = retention_of(session, profile).log_level
        audit.append(session, actor=actor, action="report.view", object_type="profile",
                     object_id=profile_id, subject=profile.subject, org_id=profile.org_id,
                     legal_basis="consent",
                     detail={"period": period, "from": days[0].isoformat(),
                             "to": days[-1].isoformat()})
    by_category: Counter[str] = Counter()
    by_day: Counter[date] = Counter()
    by_domain: Counter[str] = Counter()
    zi = zone(tz)
    for ts, qname, reason, hits in rows:
        by_category[category_of(reason) or "other"] += hits
        by_day[datetime.fromtimestamp(ts, zi).date()] += hits
        by_domain[qname] += hits
    return ChildReport(
        profile_id, name, tz, period, days, sum(by_category.values()),
        by_category.most_common(), [(d, by_day.get(d, 0)) for d in days],
        by_domain.most_common(TOP), int(alerts), _budgets(app, ref, profile_id, days, now),
        level)


def _budgets(app: App, ref: str, profile_id: int, days: list[date],
             now: datetime | None) -> list[BudgetUse]:
    listed = budget_ops.list_budgets(app, ref, (now or datetime.now(UTC)).timestamp())
    limits = {str(b["target"]): int(b["minutes"]) for b in listed["budgets"]}
    if not limits:
        return []
    source = budget_ops.counter(app)
    try:
        counts = source.read((profile_id, t, d.isoformat()) for t in limits for d in days)
    finally:
        source.close()
    return [BudgetUse(t, m, [(d, counts.get((profile_id, t, d.isoformat()), (0, 0))[0])
                             for d in days]) for t, m in sorted(limits.items())]
