"""The demo household used by ``safegate serve --demo``, docs and tests.

An (born 2018): safe search and YouTube strict, a bedtime 20:30–06:30 every night that blocks
everything but a few learning sites, and 60 minutes of games a day. Bình (born 2012): safe
search on, YouTube moderate, school hours (07:00–11:30 and 13:30–17:00, Monday to Friday)
blocking games and social networks, and the Decree 147/2024 game limits on. Tests that must
not depend on the hour create it with ``schedules=False``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegate.store.models import (
    Account,
    Consent,
    Device,
    Organisation,
    Policy,
    Profile,
    Schedule,
    TimeBudget,
)
from safegate.store.values import utcnow

DEMO_ORG_NAME = "Gia đình Nguyễn (demo)"
DEMO_PARENT_EMAIL = "phuhuynh@example.vn"
DEMO_ACTOR = "parent:demo"
# The demo's consents (safegate.privacy.consent): the texts' version when the demo was written.
DEMO_CONSENT_VERSION = "2026-12"
DEMO_PURPOSES = ("filtering", "full_query_log", "message_monitoring", "alerts")

_ALWAYS_BLOCKED = [
    "adult",
    "gambling",
    "drugs",
    "violence",
    "self_harm",
    "scam",
    "malware",
    "dating",
    "bypass",
]


EVERY_DAY = 0b1111111
MONDAY_TO_FRIDAY = 0b0011111
# What An may open during bedtime: school and learning sites (and their subdomains).
BEDTIME_ALLOW = ["hoc10.vn", "olm.vn", "vnedu.vn", "khanacademy.org"]


def _minute(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def demo_schedules() -> dict[str, list[Schedule]]:
    """The demo's weekly windows per child."""
    return {
        "An": [Schedule(name="bedtime", days=EVERY_DAY, start_minute=_minute("20:30"),
                        end_minute=_minute("06:30"), action="block", block_all=True,
                        allow=list(BEDTIME_ALLOW))],
        "Bình": [
            Schedule(name=name, days=MONDAY_TO_FRIDAY, start_minute=_minute(start),
                     end_minute=_minute(end), action="block", categories=["games", "social"])
            for name, start, end in (("school-morning", "07:00", "11:30"),
                                     ("school-afternoon", "13:30", "17:00"))
        ],
    }


def create_demo_household(session: Session, *, schedules: bool = True) -> int:
    """Create the demo household unless it exists; return its organisation id (flushes only).
    ``schedules=False`` leaves out the weekly windows (for answers that do not depend on the
    hour)."""
    existing = session.scalar(
        select(Organisation.id).where(
            Organisation.name == DEMO_ORG_NAME, Organisation.kind == "household"
        )
    )
    if existing is not None:
        return existing
    org = Organisation(name=DEMO_ORG_NAME, kind="household")
    org.accounts.append(
        Account(email=DEMO_PARENT_EMAIL, display_name="Nguyễn Thị Mai", role="parent")
    )
    org.profiles.append(
        Profile(
            name="An",
            birth_year=2018,
            preset="age_7_10",
            devices=[
                Device(name="Máy tính bảng của An", kind="tablet", ip_cidr="127.0.0.2"),
                Device(name="Laptop của An", kind="laptop", ip_cidr="192.168.1.20"),
            ],
            policy=Policy(
                blocked_categories=[
                    *_ALWAYS_BLOCKED,
                    "piracy",
                    "cults",
                    "weapons",
                    "hate",
                    "social",
                    "chat",
                ],
                safe_search=True,
                youtube_mode="strict",
            ),
            budgets=[TimeBudget(target="group:games", minutes_per_day=60)],
        )
    )
    org.profiles.append(
        Profile(
            name="Bình",
            birth_year=2012,
            preset="age_14_15",
            devices=[
                Device(
                    name="Điện thoại của Bình",
                    kind="phone",
                    ip_cidr="127.0.0.3",
                    mac="02:00:00:00:00:21",
                ),
            ],
            policy=Policy(
                blocked_categories=[*_ALWAYS_BLOCKED, "cults", "weapons", "hate"],
                safe_search=True,
                youtube_mode="moderate",
                decree147=True,
            ),
            # Decree 147/2024: 180 minutes of games a day (policy/presets/decree147.toml).
            budgets=[TimeBudget(target="group:games", minutes_per_day=180)],
        )
    )
    for profile in org.profiles:  # the demo parent attested the ages and both consented
        profile.age_source = "parent_attestation"
        profile.age_attested_by = DEMO_ACTOR
        profile.age_attested_at = utcnow()
        profile.consents = [
            Consent(purpose=purpose, given_by=giver, actor=DEMO_ACTOR if giver == "parent"
                    else f"child:{profile.name}", text_version=DEMO_CONSENT_VERSION,
                    language="vi", method="cli", given_at=utcnow())
            for purpose in DEMO_PURPOSES for giver in ("parent", "child")]
    if schedules:
        windows = demo_schedules()
        for profile in org.profiles:
            profile.schedules = windows[profile.name]
    session.add(org)
    session.flush()
    return org.id
