"""The demo household used by ``safegate serve --demo``, docs and tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safegate.store.models import Account, Device, Organisation, Policy, Profile

DEMO_ORG_NAME = "Gia đình Nguyễn (demo)"
DEMO_PARENT_EMAIL = "phuhuynh@example.vn"

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


def create_demo_household(session: Session) -> int:
    """Create the demo household unless it exists; return its organisation id (flushes only)."""
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
                    "games",
                ],
                safe_search=True,
                youtube_mode="strict",
            ),
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
            ),
        )
    )
    session.add(org)
    session.flush()
    return org.id
