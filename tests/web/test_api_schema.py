"""The REST API fuzzed against its own OpenAPI spec (schemathesis) over real HTTP against a
real `safegate serve` with the demo household: no endpoint answers 5xx, whatever it is sent,
and every answer's content type and body conform to the schema. A parent's write token
signs every request, so the fuzzer reaches past authentication into the operations; the
operator's operations, which a parent is refused, are fuzzed again with an operator's write
token, and the school's with a school admin's. Examples are few per operation and
derandomised: the run takes about twenty seconds."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import select

from safegate.app.accounts import add_token, add_user
from safegate.app.core import App
from safegate.app.family import add_org
from safegate.config import load_settings
from tests.helpers import WebServe, demo_data_dir, web_served

DEMO_LOGIN = "phuhuynh@example.vn"
EXAMPLES = 30


OPERATOR_LOGIN = "vanhanh@example.vn"
SCHOOL_LOGIN = "hieutruong@example.vn"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebServe, str]]:
    data = demo_data_dir(tmp_path_factory.mktemp("api_schema") / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    _, token = add_token(app, DEMO_LOGIN, "schemathesis", "write")
    add_org(app, "SafeGate vận hành", kind="operator")
    add_user(app, OPERATOR_LOGIN, "mật khẩu vận hành 2026", role="operator",
             org="SafeGate vận hành")
    _, operator_token = add_token(app, OPERATOR_LOGIN, "schemathesis", "write")
    add_org(app, "Trường Tiểu học Kim Đồng", kind="school")
    add_user(app, SCHOOL_LOGIN, "mật khẩu nhà trường 2026", role="school_admin",
             org="Trường Tiểu học Kim Đồng")
    _, school_token = add_token(app, SCHOOL_LOGIN, "schemathesis", "write")
    KNOWN.update(_known_ids(app))
    app.close()
    TOKENS.update(operator=operator_token, school=school_token)
    config = data / "web.toml"
    config.write_text("[web]\nlogin_attempts_per_minute = 10000\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as serve:
        yield serve, token


CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]
TOKENS: dict[str, str] = {}  # the operator's and the school admin's, set by ``served``
# Path parameters that name real rows (and real names), set by ``served``: half the examples
# use one, so that the fuzzed bodies and queries reach past "no such child" into the work.
KNOWN: dict[str, list[Any]] = {}
REACHED: set[str] = set()  # the operations that answered 2xx at least once


def _known_ids(app: App) -> dict[str, list[Any]]:
    """A few rows of every kind a path can name: the demo's children and devices, an unblock
    request, an alert, a class, an invite, a deadline notice, the accounts."""
    from safegate.app.accounts import caller_of, find_account
    from safegate.app.dsr import open_request
    from safegate.app.invites import create_invite
    from safegate.app.notices import raise_notices
    from safegate.app.requests import create
    from safegate.app.school import add_class
    from safegate.privacy.crypto import encrypt_text
    from safegate.protect.monitor import snippet_context
    from safegate.store.models import Account, Alert, Device, Profile, UnblockRequest
    from safegate.store.values import utcnow

    create(app, "An", "roblox.com", message="con muốn chơi")
    add_class(app, _org_id(app, "Trường Tiểu học Kim Đồng"), "1A")
    with app.sessions()() as session:
        parent = caller_of(find_account(session, DEMO_LOGIN))  # type: ignore[arg-type]
    create_invite(app, parent, "parent")
    open_request(app, "An", "access", by="parent", actor="test",
                 now=utcnow() - timedelta(hours=60))
    raise_notices(app)
    now = utcnow()
    with app.sessions().begin() as session:
        an = session.scalars(select(Profile.id).where(Profile.name == "An")).one()
        session.add(Alert(profile_id=an, created_at=now, last_seen_at=now, conversation="c",
                          category="scam", severity="warning", score=0.9,
                          snippet=encrypt_text("một tin nhắn", app.keyring(),
                                               context=snippet_context(an)),
                          guidance="scam"))
    with app.sessions()() as session:
        def ids(model: Any) -> list[int]:
            return list(session.scalars(select(model.id).order_by(model.id)).all())[:4]

        from safegate.store.models import Invite, Notice, SchoolClass

        return {"child_id": ids(Profile), "device_id": ids(Device),
                "request_id": ids(UnblockRequest), "alert_id": ids(Alert),
                "class_id": ids(SchoolClass), "invite_id": ids(Invite),
                "notice_id": ids(Notice), "account_id": ids(Account),
                "name": ["bedtime"], "target": ["group:games"], "purpose": ["alerts"]}


def _org_id(app: App, name: str) -> int:
    from safegate.app.family import list_orgs

    return next(o.id for o in list_orgs(app) if o.name == name)


def _with_known(drawn: tuple[Any, bool, int]) -> Any:
    """The case with its path parameters set to known rows, when the coin says so."""
    case, use, pick = drawn
    if use and case.path_parameters:
        for name in list(case.path_parameters):
            values = KNOWN.get(name)
            if values:
                case.path_parameters[name] = values[pick % len(values)]
    return case


def _fuzz(base: str, token: str, prefix: str = "/api/") -> tuple[int, Counter[int], list[str]]:
    """Every operation under ``prefix``, fuzzed with ``token``: (operations, statuses,
    failures)."""
    schema = schemathesis.openapi.from_url(base + "/api/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = 0
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(prefix):
            continue
        operations += 1

        @given(case=st.tuples(operation.as_strategy(), st.booleans(),
                              st.integers(0, 7)).map(_with_known))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            answer = case.call_and_validate(base_url=base, headers=headers, checks=CHECKS)
            statuses[answer.status_code] += 1
            if answer.status_code < 300:  # fuzz() runs in this turn of the loop
                REACHED.add(f"{operation.method.upper()} {operation.path}")  # noqa: B023

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    return operations, statuses, failures


def test_no_endpoint_fails_or_leaves_its_schema(served: tuple[WebServe, str]) -> None:
    serve, token = served
    operations, statuses, failures = _fuzz(serve.base, token)
    assert operations >= 10  # the spec was read, not an empty one
    # The token let the fuzzer in: operations answered, not only 401s; and the known rows
    # took it past "no such child": on 2026-12-05 the parent's token had 35 of the 68
    # operations answer 2xx at least once (33 of 65 before the token API; a run by hand
    # without known rows, 15 examples each, reached 26 of 65); the rest need bodies that a
    # random draw seldom makes valid.
    assert sum(n for code, n in statuses.items() if code < 300) >= operations, statuses
    assert len(REACHED) >= 28, sorted(REACHED)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize(("who", "prefix", "least"), [
    ("operator", "/api/v1/operator/", 8),  # status, notices, organisations, accounts…
    ("school", "/api/v1/school/", 4)])  # classes, members, imports…
def test_the_operations_a_parent_is_refused_with_their_own_roles_token(
        served: tuple[WebServe, str], who: str, prefix: str, least: int) -> None:
    serve, _ = served
    operations, statuses, failures = _fuzz(serve.base, TOKENS[who], prefix)
    assert operations >= least
    assert sum(n for code, n in statuses.items() if code < 300) >= operations, statuses
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("GET", "/api/v1/children/{big}/check?domain=example.com", "child"),
    ("PATCH", "/api/v1/devices/{big}", "device"),
    ("POST", "/api/v1/requests/{big}/decline", "request"),
    ("DELETE", "/api/v1/invites/{big}", "invite")])
def test_an_id_beyond_any_row_is_not_found_not_an_overflow(
        served: tuple[WebServe, str], method: str, path: str, kind: str) -> None:
    """Found by the fuzzer: an id past 2**63 made SQLite's driver overflow (a 500)."""
    serve, token = served
    big = 2**70
    answer = httpx.request(method, serve.base + path.format(big=big),
                           headers={"Authorization": f"Bearer {token}"},
                           json={"name": "x"} if method == "PATCH" else None)
    assert answer.status_code == 404, answer.text
    assert answer.json() == {"error": f"no {kind} {big}"}

