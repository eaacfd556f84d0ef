"""The first steps after sign-up through a real `safegate serve`: a new parent's empty
household leads to "add a child", the child gets its age band's preset, "add a device" takes
an IP address, a MAC or nothing (token only) and leads to the device's set-up page, whose
DoH address then resolves for that child; bad input is one line on the form and nothing is
added; another household's child is not found, and every form needs its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.helpers import (
    WebServe,
    demo_data_dir,
    query,
    wait_until,
    web_served,
)

PASSWORD = "mật khẩu dài 2026"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServe]:
    data = demo_data_dir(tmp_path_factory.mktemp("family_setup") / "data")
    config = data / "web.toml"
    config.write_text("[web]\nsignup = true\nlogin_attempts_per_minute = 60\n")
    with web_served("--config", str(config), "--demo", "--no-default-lists", "--data-dir",
                    str(data)) as serve:
        yield serve


def _token(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None
    return found.group(1)


def _sign_up(base: str, login: str, household: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    made = client.post("/signup", data={"csrf": _token(client, "/signup"), "login": login,
                                        "password": PASSWORD, "household": household})
    assert made.status_code == 303 and made.headers["location"] == "/household", made.text
    return client


def test_a_new_parent_adds_a_child_and_a_device_and_reaches_its_set_up(
        served: WebServe) -> None:
    client = _sign_up(served.base, "lan@example.vn", "Nhà Lan")
    home = client.get("/household").text
    assert 'id="getting-started"' in home and 'href="/children/new"' in home
    csrf = _token(client, "/children/new")
    assert client.post("/children/new", data={"name": "Bin", "birth_year": "2015"}
                       ).status_code == 403  # no CSRF token
    bad = client.post("/children/new", data={"csrf": csrf, "name": "Bin",
                                             "birth_year": "hai nghìn"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    assert 'value="Bin"' in bad.text  # what was typed stays
    young = client.post("/children/new", data={"csrf": csrf, "name": "Bin",
                                               "birth_year": str(datetime.now(UTC).year - 9)})
    assert young.status_code == 303
    step = re.fullmatch(r"/children/(\d+)/devices/new", young.headers["location"])
    assert step is not None
    child_id = int(step.group(1))
    child = client.get(f"/api/v1/children/{child_id}")
    assert child.status_code == 200, child.text
    assert child.json()["policy"]["preset"] == "age_7_10"  # this year's age: 9
    home = client.get("/household").text
    assert 'id="getting-started"' not in home and f"/children/{child_id}/devices/new" in home

    form = f"/children/{child_id}/devices/new"
    wrong = client.post(form, data={"csrf": csrf, "name": "Điện thoại", "kind": "phone",
                                    "address": "300.1.2.3"})
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    by_mac = client.post(form, data={"csrf": csrf, "name": "Máy tính bảng", "kind": "tablet",
                                     "address": "AA-BB-CC-DD-EE-01"})
    assert by_mac.status_code == 303
    phone = client.post(form, data={"csrf": csrf, "name": "Điện thoại", "kind": "phone",
                                    "address": ""})
    assert phone.status_code == 303
    setup = re.fullmatch(r"/devices/(\d+)/setup", phone.headers["location"])
    assert setup is not None
    page = client.get(phone.headers["location"])
    assert page.status_code == 200
    listed = client.get("/api/v1/household").json()
    assert [c["id"] for c in listed["children"]] == [child_id]
    devices = listed["children"][0]["devices"]
    assert f"/devices/{devices[-1]['id']}/setup" == phone.headers["location"]
    kinds = {d["name"]: (d["kind"], d["ip"], d["mac"]) for d in devices}
    assert kinds == {"Máy tính bảng": ("tablet", None, "aa:bb:cc:dd:ee:01"),
                     "Điện thoại": ("phone", None, None)}


def test_another_household_s_child_is_not_found(served: WebServe) -> None:
    first = _sign_up(served.base, "mai@example.vn", "Nhà Mai")
    csrf = _token(first, "/children/new")
    made = first.post("/children/new", data={"csrf": csrf, "name": "Na",
                                             "birth_year": "2016"})
    child_path = made.headers["location"]
    other = _sign_up(served.base, "hoa@example.vn", "Nhà Hoa")
    assert other.get(child_path).status_code == 404
    other_csrf = _token(other, "/children/new")
    taken = other.post(child_path, data={"csrf": other_csrf, "name": "x", "kind": "phone"})
    assert taken.status_code == 404


def test_a_device_by_ip_answers_dns_for_its_child(served: WebServe) -> None:
    client = _sign_up(served.base, "tuan@example.vn", "Nhà Tuấn")
    csrf = _token(client, "/children/new")
    made = client.post("/children/new", data={"csrf": csrf, "name": "Ti",
                                              "birth_year": "2014"})
    added = client.post(made.headers["location"], data={
        "csrf": csrf, "name": "Laptop", "kind": "laptop", "address": "127.0.0.77"})
    assert added.status_code == 303
    child_id = int(made.headers["location"].split("/")[2])
    me = client.get("/api/v1/me").json()
    denied = client.patch(f"/api/v1/children/{child_id}/policy",
                          json={"deny": ["onboarding.example"]},
                          headers={"X-CSRF-Token": me["csrf"]})
    assert denied.status_code == 200, denied.text

    def blocked(source: str) -> bool:
        answer = query(served.dns_port, "onboarding.example", source=source)
        return any(r.to_text().endswith("0.0.0.0") for r in answer.answer)

    assert wait_until(lambda: blocked("127.0.0.77"), 10)  # the laptop is Ti's
    assert not blocked("127.0.0.78")  # another address is not
