"""safegate.store against real databases: SQLite in tmp_path and PostgreSQL (if configured).

PostgreSQL runs when SAFEGATE_TEST_DATABASE_URL is set, e.g.
    SAFEGATE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
Each test session migrates its own schema (sg_test_<random>, dropped afterwards; Alembic's
version table lives there too) and empties it before every test; the migration tests get a
fresh schema each. Reruns and parallel runs never collide.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, delete, func, insert, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from safegate.store import StoreError, make_engine, migrate, session_factory, sqlite_url
from safegate.store.db import (
    MIGRATIONS_DIR,
    head_revision,
    require_current_schema,
    schema_revision,
)
from safegate.store.models import (
    Account,
    Alert,
    Base,
    Breach,
    Device,
    ListSource,
    Notice,
    Organisation,
    Policy,
    Profile,
    QueryLog,
    Schedule,
)
from safegate.store.repo import (
    PolicyRecord,
    ProfileRecord,
    QueryLogRow,
    create_demo_household,
    insert_query_logs,
    load_profiles,
    purge_query_logs,
    update_policy,
)
from tests.helpers import BACKENDS, _alembic, postgresql_schema

BINH_CATEGORIES = {
    *("adult", "gambling", "drugs", "violence", "self_harm", "scam", "malware", "dating"),
    *("bypass", "cults", "weapons", "hate"),
}
AN_EXTRA_CATEGORIES = {"piracy", "social", "chat"}  # games: a 60-minute budget instead


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty, unmigrated database (for the migration tests)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "data")
    else:
        with postgresql_schema("PostgreSQL store tests") as url:
            yield url


@pytest.fixture
def demo_org(engine: Engine) -> int:
    with session_factory(engine).begin() as session:
        return create_demo_household(session)


def _profiles_by_name(engine: Engine) -> dict[str, ProfileRecord]:
    with session_factory(engine)() as session:
        return {p.name: p for p in load_profiles(session)}


def _count(engine: Engine, model: type[Base]) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model)) or 0


# --- URLs and engines -------------------------------------------------------------------------


def test_sqlite_url(tmp_path: Path) -> None:
    assert sqlite_url(tmp_path) == f"sqlite+pysqlite:///{tmp_path}/safegate.db"


def test_sqlite_engine_creates_directory_and_sets_pragmas(tmp_path: Path) -> None:
    data_dir = tmp_path / "does" / "not" / "exist"
    engine = make_engine(sqlite_url(data_dir))
    try:
        with engine.connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        assert pragmas == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": 5000,
            "synchronous": 1,  # NORMAL
        }
        assert (data_dir / "safegate.db").is_file()
    finally:
        engine.dispose()


@pytest.mark.parametrize("url", ["postgresql://sg:pw@db.example:5432/sg", "postgres://db/sg"])
def test_postgresql_urls_use_psycopg(url: str) -> None:
    engine = make_engine(url)  # creating an engine does not connect
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("mysql+pymysql://root:hunter2@db.example/sg", "unsupported database URL"),
        ("postgresql+asyncpg://sg:hunter2@db.example/sg", "unsupported database URL"),
        ("this is not a URL", "cannot parse database URL"),
        ("sqlite://", "in-memory"),
        ("sqlite+pysqlite:///:memory:", "in-memory"),
    ],
)
def test_bad_url_gives_readable_store_error(url: str, hint: str) -> None:
    with pytest.raises(StoreError) as caught:
        make_engine(url)
    message = str(caught.value)
    assert hint in message
    assert "hunter2" not in message
    if "hunter2" in url:
        assert "***" in message
    assert "sqlite+pysqlite:///" in message and "postgresql+psycopg://" in message


# --- migrations -------------------------------------------------------------------------------


def _script_heads() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return set(ScriptDirectory.from_config(config).get_heads())


def _schema_state(engine: Engine) -> tuple[list[str], list[str]]:
    with engine.connect() as conn:
        versions = sorted(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    return sorted(inspect(engine).get_table_names()), versions


def test_the_head_read_from_the_files_is_alembic_s(engine: Engine, tmp_path: Path) -> None:
    """Commands check the schema against ``head_revision()`` (the migration files' revision
    lines, without loading alembic): the same head alembic finds, and the revision a
    migrated database records; a database never migrated has none."""
    assert {head_revision()} == _script_heads()
    assert schema_revision(engine) == (head_revision(), head_revision())
    fresh = make_engine(sqlite_url(tmp_path / "fresh"))
    try:
        assert schema_revision(fresh) == (None, head_revision())
        with pytest.raises(StoreError, match="no SafeGate schema yet"):
            require_current_schema(fresh)
    finally:
        fresh.dispose()


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    before = _schema_state(engine)
    migrate(engine)
    assert _schema_state(engine) == before
    tables, versions = before
    assert set(versions) == _script_heads()
    assert set(Base.metadata.tables) | {"alembic_version"} == set(tables)
    if engine.dialect.name == "postgresql":  # everything, version table included, in our schema
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            where = conn.exec_driver_sql(
                "SELECT table_schema FROM information_schema.tables "
                "WHERE table_name = 'alembic_version' AND table_schema = current_schema()"
            ).scalar()
        assert str(schema).startswith("sg_test_") and where == schema


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_the_found_by_revision_goes_down_and_up_keeping_alerts(engine: Engine,
                                                              demo_org: int) -> None:
    """0004 adds alert.found_by with its CHECK (SQLite rebuilds the table for it): the other
    constraints, the indexes and the rows survive both ways; old rows have no layer."""
    with engine.connect() as conn:
        pid = conn.execute(select(Profile.id).where(Profile.org_id == demo_org)).scalars().first()
    row = {"profile_id": pid, "last_seen_at": datetime(2026, 12, 1, tzinfo=UTC),
           "conversation": "c", "category": "self_harm", "severity": "urgent", "score": 0.9,
           "snippet": "x", "guidance": "self_harm"}
    with engine.begin() as conn:
        conn.execute(insert(Alert).values(**row, found_by="deep"))
    indexes = {i["name"] for i in inspect(engine).get_indexes("alert")}
    _alembic(engine, "downgrade", "0003")
    assert "found_by" not in {c["name"] for c in inspect(engine).get_columns("alert")}
    _alembic(engine, "upgrade", "head")
    assert {i["name"] for i in inspect(engine).get_indexes("alert")} == indexes
    with engine.begin() as conn:
        assert conn.execute(select(Alert.category, Alert.found_by)).all() == [("self_harm", None)]
    for bad in ({"found_by": "oracle"}, {"category": "weather"}, {"severity": "meh"}):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(Alert).values(**{**row, "found_by": "rules", **bad}))


def test_concurrent_migrations_do_not_collide(db_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        engine = make_engine(db_url)
        try:
            migrate(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = make_engine(db_url)
    assert set(_schema_state(engine)[1]) == _script_heads()
    engine.dispose()


# --- demo household and profiles ---------------------------------------------------------------


def test_demo_household_is_idempotent_and_loads_back(engine: Engine, demo_org: int) -> None:
    with session_factory(engine).begin() as session:
        assert create_demo_household(session) == demo_org
    assert _count(engine, Organisation) == 1
    assert _count(engine, Profile) == 2
    assert _count(engine, Device) == 3

    with session_factory(engine)() as session:
        parent = session.scalars(select(Account)).one()
        org = session.get(Organisation, demo_org)
        profiles = load_profiles(session)
    assert org is not None
    assert (org.name, org.kind, org.timezone) == (
        "Gia đình Nguyễn (demo)",
        "household",
        "Asia/Ho_Chi_Minh",
    )
    assert (parent.email, parent.display_name, parent.role, parent.password_hash) == (
        "phuhuynh@example.vn",
        "Nguyễn Thị Mai",
        "parent",
        None,
    )
    assert parent.locale == "vi" and parent.org_id == demo_org

    an, binh = profiles
    assert (an.name, an.birth_year, an.preset, an.org_id) == ("An", 2018, "age_7_10", demo_org)
    assert [(d.name, d.kind, d.ip_cidr, d.mac) for d in an.devices] == [
        ("Máy tính bảng của An", "tablet", "127.0.0.2", None),
        ("Laptop của An", "laptop", "192.168.1.20", None),
    ]
    assert set(an.policy.blocked_categories) == {*BINH_CATEGORIES, *AN_EXTRA_CATEGORIES}
    assert an.policy.safe_search and an.policy.youtube_mode == "strict"
    assert an.policy.version == 1

    assert (binh.name, binh.birth_year, binh.preset) == ("Bình", 2012, "age_14_15")
    assert [(d.name, d.kind, d.ip_cidr, d.mac) for d in binh.devices] == [
        ("Điện thoại của Bình", "phone", "127.0.0.3", "02:00:00:00:00:21"),
    ]
    assert set(binh.policy.blocked_categories) == BINH_CATEGORIES
    assert binh.policy.youtube_mode == "moderate" and binh.policy.safe_search
    for record in (an.policy, binh.policy):
        assert (record.block_mode, record.log_level, record.bypass_protection) == (
            "null",
            "full",
            True,
        )
        assert record.blocked_services == record.allow == record.deny == ()

    tokens = [d.token for p in profiles for d in p.devices]
    assert len(set(tokens)) == 3 and all(len(t) >= 22 for t in tokens)

    with session_factory(engine)() as session:
        assert load_profiles(session, org_id=demo_org + 1000) == []


# --- update_policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"youtube": "strict"}, ["'youtube'", "'strict'", "youtube_mode"]),
        ({"version": 7}, ["'version'", "7"]),
        ({"youtube_mode": "extreme"}, ["'youtube_mode'", "'extreme'", "off, moderate, strict"]),
        ({"block_mode": "drop"}, ["'block_mode'", "'drop'", "null, nxdomain, blockpage"]),
        ({"log_level": "verbose"}, ["'log_level'", "'verbose'", "full, domains, off"]),
        ({"safe_search": "yes"}, ["'safe_search'", "'yes'", "True or False"]),
        ({"bypass_protection": 1}, ["'bypass_protection'", "1", "True or False"]),
        ({"blocked_categories": "adult"}, ["'blocked_categories'", "'adult'", "list"]),
        ({"blocked_services": ["tik tok"]}, ["'blocked_services'", "'tik tok'"]),
        ({"allow": ["https://example.vn/"]}, ["'allow'", "'https://example.vn/'", "domain"]),
        ({"deny": [42]}, ["'deny'", "42", "strings"]),
    ],
)
def test_update_policy_rejects_bad_changes(
    engine: Engine, demo_org: int, changes: dict[str, Any], expected: list[str]
) -> None:
    an = _profiles_by_name(engine)["An"]
    with session_factory(engine)() as session, pytest.raises(StoreError) as caught:
        update_policy(session, an.id, **changes)
    for text in expected:
        assert text in str(caught.value)
    assert _profiles_by_name(engine)["An"].policy == an.policy


def test_update_policy_unknown_profile(engine: Engine) -> None:
    with session_factory(engine)() as session, pytest.raises(StoreError, match="12345"):
        update_policy(session, 12345, safe_search=False)


def test_update_policy_bumps_version(engine: Engine, demo_org: int) -> None:
    with session_factory(engine).begin() as session:
        profile = Profile(org_id=demo_org, name="Cường", birth_year=2020)
        session.add(profile)
        session.flush()
        profile_id = profile.id
    cuong = _profiles_by_name(engine)["Cường"]
    assert cuong.policy == PolicyRecord() and cuong.policy.version == 1

    with session_factory(engine).begin() as session:
        record = update_policy(session, profile_id, youtube_mode="strict", safe_search=True)
    assert (record.version, record.youtube_mode) == (2, "strict")
    assert record.updated_at is not None and record.updated_at.tzinfo is UTC

    with session_factory(engine).begin() as session:  # nothing actually changes
        assert update_policy(session, profile_id, youtube_mode="strict").version == 2
        assert update_policy(session, profile_id).version == 2

    with session_factory(engine).begin() as session:
        record = update_policy(
            session,
            profile_id,
            allow=[" Example.VN. ", "example.vn", "việtnam.vn"],
            deny=["TikTok.com", "10.1.2.3/8", "2001:DB8::1"],
            blocked_services=["tiktok", "roblox", "tiktok"],
            block_mode="blockpage",
            log_level="domains",
            bypass_protection=False,
        )
    assert record.version == 3
    loaded = _profiles_by_name(engine)["Cường"].policy
    assert loaded == record
    assert loaded.allow == ("example.vn", "xn--vitnam-jk8b.vn")
    assert loaded.deny == ("tiktok.com", "10.0.0.0/8", "2001:db8::1")
    assert loaded.blocked_services == ("tiktok", "roblox")
    assert (loaded.block_mode, loaded.log_level, loaded.bypass_protection) == (
        "blockpage",
        "domains",
        False,
    )


def test_concurrent_policy_edit_is_detected(engine: Engine, demo_org: int) -> None:
    an = _profiles_by_name(engine)["An"]
    factory = session_factory(engine)
    with factory() as first, factory() as second:
        for session in (first, second):
            profile = session.get(Profile, an.id)
            assert profile is not None and profile.policy is not None  # both hold version 1
        update_policy(first, an.id, youtube_mode="off")
        first.commit()
        with pytest.raises(StoreError, match="changed by someone else"):
            update_policy(second, an.id, youtube_mode="moderate")
    assert _profiles_by_name(engine)["An"].policy.youtube_mode == "off"


def test_a_policy_change_reaches_what_the_session_holds(engine: Engine, demo_org: int) -> None:
    an = _profiles_by_name(engine)["An"]
    with session_factory(engine).begin() as session:
        profile = session.get_one(Profile, an.id)
        held = profile.policy
        assert held is not None and held.youtube_mode != "off"
        after = update_policy(session, an.id, youtube_mode="off", deny=["held.example"])
        assert (held.youtube_mode, held.deny, held.version) == ("off", ["held.example"],
                                                               after.version)
        assert after.version == an.policy.version + 1
        # the same values again change nothing: the version stays
        assert update_policy(session, an.id, youtube_mode="off").version == after.version


def test_a_child_without_a_policy_row_gets_one_with_the_change(engine: Engine,
                                                                demo_org: int) -> None:
    an = _profiles_by_name(engine)["An"]
    with engine.begin() as conn:
        conn.execute(delete(Policy).where(Policy.profile_id == an.id))
    with session_factory(engine).begin() as session:
        profile = session.get_one(Profile, an.id)
        assert profile.policy is None
        after = update_policy(session, an.id, deny=["new.example"])
        assert profile.policy is not None and profile.policy.deny == ["new.example"]
    assert after.deny == ("new.example",) and after.version == 2  # made at 1, then changed
    loaded = _profiles_by_name(engine)["An"].policy
    assert loaded == after and loaded.safe_search is True  # the other fields: defaults
    with session_factory(engine).begin() as session, \
            pytest.raises(StoreError, match="does not exist"):
        update_policy(session, 10_000, deny=["x.example"])


# --- integrity --------------------------------------------------------------------------------


def test_deleting_a_profile_cascades_to_devices_and_policy(engine: Engine, demo_org: int) -> None:
    profiles = _profiles_by_name(engine)
    with engine.begin() as conn:  # the database cascades, not the ORM
        conn.execute(delete(Profile).where(Profile.id == profiles["An"].id))
    assert _count(engine, Device) == 1 and _count(engine, Policy) == 1

    with session_factory(engine).begin() as session:
        binh = session.get(Profile, profiles["Bình"].id)
        session.delete(binh)
    assert _count(engine, Device) == 0 and _count(engine, Policy) == 0
    assert _count(engine, Profile) == 0 and _count(engine, Organisation) == 1


def test_device_tokens_are_unique(engine: Engine, demo_org: int) -> None:
    an = _profiles_by_name(engine)["An"]
    taken = an.devices[0].token
    with session_factory(engine)() as session:
        session.add(Device(profile_id=an.id, name="Trùng token", kind="other", token=taken))
        with pytest.raises(IntegrityError):
            session.flush()


def test_device_and_account_values_are_normalised(engine: Engine, demo_org: int) -> None:
    an = _profiles_by_name(engine)["An"]
    with session_factory(engine).begin() as session:
        device = Device(
            profile_id=an.id, name="TV", kind="tv", mac="02-00-00-00-00-AB", ip_cidr="10.0.0.0/24"
        )
        account = Account(
            org_id=demo_org, email="  Co.Giao@Truong.EDU.vn ", display_name="Cô Lan", role="teacher"
        )
        session.add_all([device, account])
    assert (device.mac, device.ip_cidr) == ("02:00:00:00:00:ab", "10.0.0.0/24")
    assert account.email == "co.giao@truong.edu.vn"
    for field, value in [("mac", "02:00:00:00:00"), ("ip_cidr", "10.0.0.1/24"), ("ip_cidr", "x")]:
        with pytest.raises(StoreError, match=field):
            Device(profile_id=an.id, name="bad", kind="tv", **{field: value})
    with pytest.raises(StoreError, match="email"):
        Account(org_id=demo_org, email="not-an-address", display_name="x", role="parent")


def _valid_rows(engine: Engine, org_id: int) -> dict[type[Base], dict[str, Any]]:
    with session_factory(engine).begin() as session:
        profile = Profile(org_id=org_id, name="Kiểm tra")
        session.add(profile)
        session.flush()
        profile_id = profile.id
    return {
        Organisation: {"name": "Trường Kiểm Tra", "kind": "school"},
        Account: {"org_id": org_id, "email": "a@b.vn", "display_name": "A", "role": "teacher"},
        Device: {"profile_id": profile_id, "name": "Máy", "kind": "phone"},
        Policy: {"profile_id": profile_id},
        QueryLog: {"ts": 1.0, "client_ip": "::1", "qname": "a.vn", "qtype": 1, "action": "allow"},
        ListSource: {"name": "l", "location": "/tmp/l.txt", "category": "adult"},
    }


@pytest.mark.parametrize(
    ("model", "column", "bad"),
    [
        (Organisation, "kind", "club"),
        (Account, "role", "admin"),
        (Account, "locale", "fr"),
        (Account, "email", "Upper@Case.vn"),
        (Device, "kind", "fridge"),
        (Policy, "youtube_mode", "extreme"),
        (Policy, "block_mode", "drop"),
        (Policy, "log_level", "verbose"),
        (QueryLog, "action", "drop"),
        (ListSource, "match", "regex"),
        (ListSource, "format", "json"),
    ],
)
def test_check_constraints_reject_bad_values_in_the_database(
    engine: Engine, demo_org: int, model: type[Base], column: str, bad: str
) -> None:
    valid = _valid_rows(engine, demo_org)[model]
    with engine.connect() as conn:  # the valid row is accepted (then rolled back)
        conn.execute(insert(model).values(**valid))
        conn.rollback()
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(model).values(**{**valid, column: bad}))


def test_timestamps_are_timezone_aware_utc(engine: Engine) -> None:
    with engine.begin() as conn:  # server-side default (CURRENT_TIMESTAMP / now())
        conn.exec_driver_sql("INSERT INTO organisation (name, kind) VALUES ('Trường A', 'school')")
    with session_factory(engine).begin() as session:
        session.add(Organisation(name="Trường B", kind="school"))
    with session_factory(engine)() as session:
        orgs = session.scalars(select(Organisation).order_by(Organisation.id)).all()
    now = datetime.now(UTC)
    for org in orgs:
        assert org.created_at.tzinfo is UTC
        assert abs(now - org.created_at) < timedelta(minutes=1)
    with session_factory(engine)() as session, pytest.raises(StatementError, match="naive"):
        session.add(Organisation(name="C", kind="school", created_at=datetime(2025, 1, 1)))
        session.flush()


# --- query log --------------------------------------------------------------------------------


def test_insert_and_purge_query_logs(engine: Engine) -> None:
    rows: list[QueryLogRow] = [
        (1000.0 + i, "192.168.1.20", 1 if i % 2 else None, f"d{i}.example.vn", 1, "allow", None,
         1)
        for i in range(10)
    ]  # fmt: skip
    rows[3] = (1003.0, "127.0.0.2", 1, "xxx.example", 28, "block", "adult:hostsvn/adult", 7)
    assert insert_query_logs(engine, []) == 0
    assert insert_query_logs(engine, rows) == 10
    assert _count(engine, QueryLog) == 10
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                QueryLog.ts, QueryLog.profile_id, QueryLog.qtype, QueryLog.reason, QueryLog.hits
            ).where(QueryLog.action == "block")
        ).one()
    assert tuple(stored) == (1003.0, 1, 28, "adult:hostsvn/adult", 7)

    bad = [*rows[:2], (2000.0, "::1", None, "x.vn", 1, "dropped", None, 1)]
    with pytest.raises(StoreError, match="3 rows"):
        insert_query_logs(engine, bad)
    assert _count(engine, QueryLog) == 10  # the refused batch left nothing behind

    assert purge_query_logs(engine, 1002.0, batch_size=1) == 2
    assert purge_query_logs(engine, 1005.5) == 4
    assert purge_query_logs(engine, 1005.5) == 0
    assert _count(engine, QueryLog) == 4
    assert purge_query_logs(engine, 1e12, batch_size=3) == 4


def test_insert_query_logs_keeps_every_row_and_its_order_across_statements(
        engine: Engine) -> None:
    """SQLite writes 100 rows per statement and the rest one by one: a batch of 257 rows
    comes back whole and in order; a bad row in the second statement leaves nothing."""
    rows: list[QueryLogRow] = [
        (1733370000.0 + (i % 3) / 7, f"10.0.0.{i % 5}", None if i % 4 else i, f"n{i}.example.vn",
         28 if i % 2 else 1, "block" if i % 3 else "allow",
         f"custom:custom/list:n{i}.example.vn" if i % 3 else None, 1 + i % 9)
        for i in range(257)
    ]  # fmt: skip
    assert insert_query_logs(engine, rows) == 257
    columns = (QueryLog.ts, QueryLog.client_ip, QueryLog.profile_id, QueryLog.qname,
               QueryLog.qtype, QueryLog.action, QueryLog.reason, QueryLog.hits)
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(*columns).order_by(QueryLog.id))]
    assert stored == rows
    bad = [*rows[:150], (2000.0, "::1", None, "x.vn", 1, "dropped", None, 1), *rows[:50]]
    with pytest.raises(StoreError, match="201 rows"):
        insert_query_logs(engine, bad)
    assert _count(engine, QueryLog) == 257


def test_insert_query_logs_bulk_100k(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    n = 100_000
    start_ts = time.time()
    rows = [
        (start_ts + i / 1000, f"192.168.1.{i % 250}", i % 7 or None, f"host{i}.example.vn", 1,
         "block" if i % 10 == 0 else "allow", "adult:hostsvn/adult" if i % 10 == 0 else None,
         1 + i % 3)
        for i in range(n)
    ]  # fmt: skip
    started = time.perf_counter()
    assert insert_query_logs(engine, rows) == n
    elapsed = time.perf_counter() - started
    rate = n / elapsed
    with capsys.disabled():
        print(f"\n  insert_query_logs[{engine.dialect.name}]: {n} rows in {elapsed:.3f} s "
              f"= {rate:,.0f} rows/s")  # fmt: skip
    assert _count(engine, QueryLog) == n  # the rate is printed, not asserted: bench/ owns speed


def test_the_parental_control_revision_goes_down_and_up_losing_no_child(
        engine: Engine, demo_org: int) -> None:
    """0006 adds columns in place: going down and up again keeps every profile, device, policy
    and alert (on SQLite, rebuilding the profile table would cascade-delete them)."""
    with engine.connect() as conn:
        pid = conn.execute(select(Profile.id).where(Profile.org_id == demo_org)).scalars().first()
    with engine.begin() as conn:
        conn.execute(insert(Alert).values(
            profile_id=pid, last_seen_at=datetime(2026, 12, 1, tzinfo=UTC), conversation="c",
            category="self_harm", severity="urgent", score=0.9, snippet="x", guidance="g"))
        conn.execute(insert(Schedule).values(profile_id=pid, name="late", days=127,
                                              start_minute=20 * 60 + 30, end_minute=6 * 60 + 30,
                                              action="block", block_all=True))

    def counts() -> tuple[int, ...]:
        with engine.connect() as conn:
            return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()
                         for t in (Profile, Device, Policy, Alert))

    before = counts()
    assert all(before), before
    _alembic(engine, "downgrade", "0005")
    assert "paused_until" not in {c["name"] for c in inspect(engine).get_columns("profile")}
    assert "schedule" not in inspect(engine).get_table_names()
    assert counts() == before
    _alembic(engine, "upgrade", "head")
    assert counts() == before
    with engine.connect() as conn:
        assert conn.execute(select(Policy.allow_list_only, Policy.allowed_services)).first() == (
            False, [])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Schedule).values(profile_id=pid, name="x", days=0, start_minute=0,
                                              end_minute=60, action="block"))


def test_the_network_alert_revision_goes_down_and_up_keeping_alerts(
        engine: Engine, demo_org: int) -> None:
    """0007 widens the alert CHECKs (bypass_attempt, infected_device, found by dns): down,
    the old CHECKs hold again and only the new kinds of alert go; up, they are allowed again,
    the indexes, the profile rows and the other alerts survive both ways."""
    with engine.connect() as conn:
        pid = conn.execute(select(Profile.id).where(Profile.org_id == demo_org)).scalars().first()
    row = {"profile_id": pid, "last_seen_at": datetime(2026, 12, 1, tzinfo=UTC),
           "conversation": "c", "category": "self_harm", "severity": "urgent", "score": 0.9,
           "snippet": "x", "guidance": "self_harm", "found_by": "rules"}
    bypass = {**row, "conversation": "dns:tablet", "category": "bypass_attempt",
              "severity": "warning", "guidance": "bypass_attempt", "found_by": "dns"}
    with engine.begin() as conn:
        conn.execute(insert(Alert).values(**row))
        conn.execute(insert(Alert).values(**bypass))
    indexes = {i["name"] for i in inspect(engine).get_indexes("alert")}
    profiles = _count(engine, Profile)
    _alembic(engine, "downgrade", "0006")
    with engine.connect() as conn:
        assert conn.execute(select(Alert.category)).scalars().all() == ["self_harm"]
    for bad in ({"category": "bypass_attempt"}, {"category": "infected_device"},
                {"found_by": "dns"}):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(Alert).values(**{**row, **bad}))
    _alembic(engine, "upgrade", "head")
    assert {i["name"] for i in inspect(engine).get_indexes("alert")} == indexes
    assert _count(engine, Profile) == profiles
    with engine.begin() as conn:
        conn.execute(insert(Alert).values(**bypass))
        conn.execute(insert(Alert).values(**{**bypass, "category": "infected_device"}))
        assert sorted(conn.execute(select(Alert.category)).scalars()) == [
            "bypass_attempt", "infected_device", "self_harm"]
    for bad in ({"found_by": "oracle"}, {"category": "weather"}, {"severity": "meh"}):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(Alert).values(**{**row, **bad}))


def test_the_web_accounts_revision_goes_down_and_up_keeping_accounts(
        engine: Engine, demo_org: int) -> None:
    """0008 makes the e-mail optional (a phone number instead) and adds sessions and API
    tokens: an account with neither is refused; down, phone-only accounts go and the e-mail
    is required again; the demo parent survives both ways."""
    from safegate.store.models import Account

    with engine.begin() as conn:
        conn.execute(insert(Account).values(org_id=demo_org, phone="+84912345678",
                                            display_name="Bố", role="parent"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Account).values(org_id=demo_org, display_name="x", role="parent"))
    _alembic(engine, "downgrade", "0007")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT email FROM account").scalars().all() == [
            "phuhuynh@example.vn"]
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO account (org_id, display_name, role, locale) "
                             f"VALUES ({demo_org}, 'x', 'parent', 'vi')")
    _alembic(engine, "upgrade", "head")
    with engine.begin() as conn:
        conn.execute(insert(Account).values(org_id=demo_org, phone="+84912345678",
                                            display_name="Bố", role="parent"))
        assert len(conn.execute(select(Account.id)).all()) == 2


def test_the_breach_revision_goes_down_and_up(engine: Engine) -> None:
    """0011 adds the breach register and the notices: down, both tables go and the privacy
    tables of 0010 stay; up, they are back with their CHECKs."""
    _alembic(engine, "downgrade", "0010")
    tables = set(inspect(engine).get_table_names())
    assert "breach" not in tables and "notice" not in tables and "consent" in tables
    _alembic(engine, "upgrade", "head")
    assert {"breach", "notice"} <= set(inspect(engine).get_table_names())
    now = datetime(2026, 12, 1, tzinfo=UTC)
    row = {"description": "d", "detected_at": now, "recorded_at": now, "recorded_by": "x",
           "data_classes": ["alerts"], "children": [], "children_count": 0, "risk": "low"}
    with engine.begin() as conn:
        conn.execute(insert(Breach).values(**row))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Breach).values(**{**row, "risk": "extreme"}))
    notice = {"kind": "dsr.overdue", "object_type": "dsr", "object_id": 1, "due_at": now,
              "created_at": now}
    with engine.begin() as conn:
        conn.execute(insert(Notice).values(**notice))
    with pytest.raises(IntegrityError), engine.begin() as conn:  # once per kind and object
        conn.execute(insert(Notice).values(**notice))


def test_the_school_revision_goes_down_and_up_keeping_children(
        engine: Engine, demo_org: int) -> None:
    """0012 adds classes, their members and teachers, and invites: down, they go and every
    child stays; up again, they are back (empty); an invite's role is checked."""
    from safegate.store.models import ClassMember, Invite, SchoolClass

    with engine.begin() as conn:
        pid = conn.execute(select(Profile.id).where(Profile.org_id == demo_org)).scalars().first()
        cid = conn.execute(insert(SchoolClass).values(
            org_id=demo_org, name="6A", school_year="2026-2027")).inserted_primary_key[0]
        conn.execute(insert(ClassMember).values(profile_id=pid, class_id=cid))
    invite = {"org_id": demo_org, "token_hash": "h" * 64, "created_by": "x",
              "expires_at": datetime(2026, 12, 12, tzinfo=UTC)}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(Invite).values(**invite, role="operator"))
    before = _schema_state(engine)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Profile)).scalar()
    _alembic(engine, "downgrade", "0011")
    tables = set(inspect(engine).get_table_names())
    assert not tables & {"school_class", "class_member", "class_teacher", "invite"}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Profile)).scalar() == count
    _alembic(engine, "upgrade", "head")
    assert _schema_state(engine) == before
    with engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(SchoolClass)).scalar() == 0
        conn.execute(insert(Invite).values(**invite, role="teacher"))


def test_the_totp_revision_goes_down_and_up_keeping_accounts(
        engine: Engine, demo_org: int) -> None:
    """0013 adds the accounts' TOTP secrets and recovery codes: down, they go and every
    account stays; up again, they are back (empty) and one secret per account."""
    from safegate.store.models import Account, AccountTotp, RecoveryCode

    with engine.begin() as conn:
        aid = conn.execute(insert(Account).values(
            org_id=demo_org, email="totp@example.vn", display_name="T", role="parent",
            password_hash="x")).inserted_primary_key[0]
        conn.execute(insert(AccountTotp).values(account_id=aid, secret="sealed"))
        conn.execute(insert(RecoveryCode).values(account_id=aid, code_hash="h" * 64))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(AccountTotp).values(account_id=aid, secret="again"))
    before = _schema_state(engine)
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Account)).scalar()
    _alembic(engine, "downgrade", "0012")
    assert not set(inspect(engine).get_table_names()) & {"account_totp", "recovery_code"}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Account)).scalar() == count
    _alembic(engine, "upgrade", "head")
    assert _schema_state(engine) == before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AccountTotp)).scalar() == 0
