"""An accessibility audit of the web app's pages in a real browser (Playwright driving
Debian's chromium, headless) against a real `safegate serve --demo`: axe-core's WCAG 2.0 and
2.1 A and AA rules and its best practices (axe-core by Deque Systems, MPL-2.0, bundled by the
axe-playwright-python package) on every main page, at phone width (360 px) and desktop width
(1280 px), in Vietnamese and on a few pages in English; no page scrolls sideways on the phone;
and what axe does not look at (WCAG 1.4.11): every control the keyboard reaches shows a focus
ring that stands out 3:1, and so do the week grid's fills and rings. A failure lists, page by
page, each rule broken, its impact, what it asks for and the first elements that break it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from safegate.app.accounts import add_user
from safegate.app.consent import give_consent
from safegate.app.core import App
from safegate.app.family import PolicyChange, add_org, list_children, set_policy
from safegate.app.requests import create
from safegate.app.school import add_class
from safegate.config import load_settings
from safegate.privacy.crypto import encrypt_text
from safegate.protect.monitor import snippet_context
from safegate.store.budgets import DatabaseCounter
from safegate.store.db import make_engine, migrate, session_factory, sqlite_url
from safegate.store.demo import create_demo_household
from safegate.store.models import Alert
from safegate.store.querylog import insert_query_logs
from tests.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEMO_LOGIN,
    DEMO_PASSWORD,
    free_tcp_port,
    signed_in_client,
    start_web_serve,
)

pytestmark = pytest.mark.skipif(shutil.which(CHROMIUM) is None,
                                reason="needs Debian's chromium (make apt-test)")

OPERATOR, SCHOOL_ADMIN = "vanhanh@example.vn", "bgh@truong.edu.vn"
PASSWORD = "mật khẩu kiểm tra 2026"
SCHOOL = "Trường THCS Ba Đình"
TABLET = "127.0.0.2"  # the demo tablet of An, whose blocked sites get the block page
BLOCKED = "www.tiktok.com"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
# axe-core's WCAG 2.0 and 2.1 A and AA rules, and its best practices (headings, landmarks,
# table headers, ...)
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
UI_CONTRAST = 3.0  # WCAG 1.4.11: what only a colour or a ring shows, against what is next to it
SHOWN_TARGETS = 3  # selectors shown per violation in a failure


def axe_script() -> str:
    """Deque's axe-core as bundled by axe-playwright-python."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def at(day: date, hour: int) -> float:
    return datetime.combine(day, time(hour), UTC).timestamp()


def filled_data_dir(data: Path) -> Path:
    """The demo household with its weekly windows, and for An: reports consent, a week of
    activity, game minutes against the budget, an unblock request and two alerts; so that
    the pages show their lists, charts and badges, not only their empty states."""
    engine = make_engine(sqlite_url(data))
    migrate(engine)
    with session_factory(engine).begin() as session:
        create_demo_household(session)
    engine.dispose()
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    an = {c.name: c.id for c in list_children(app)}["An"]
    for by in ("parent", "child"):
        give_consent(app, "An", "reports", by=by, actor="test")
    set_policy(app, "An", PolicyChange(block_mode="blockpage", deny=("roblox.com",)))
    create(app, "An", "roblox.com", message="con muốn chơi với bạn")
    today = datetime.now(UTC).date()
    insert_query_logs(app.engine, [
        (at(today - timedelta(days=1), 12), TABLET, an, "tiktok.com", 1, "block",
         "social:test/tiktok.com", 3),
        (at(today - timedelta(days=3), 12), TABLET, an, "casino.example", 1, "block",
         "gambling:test/casino.example", 2),
        (at(today - timedelta(days=1), 13), TABLET, an, "news.example", 1, "allow", None, 9),
    ])
    DatabaseCounter(app.engine).add(
        [(an, "group:games", today.isoformat(), m) for m in range(20)])
    now = datetime.now(UTC)
    with app.sessions().begin() as session:
        for severity in ("warning", "urgent"):
            session.add(Alert(profile_id=an, created_at=now, last_seen_at=now,
                              conversation="c-" + severity, category="scam",
                              severity=severity, score=0.9,
                              snippet=encrypt_text("một tin nhắn", app.keyring(),
                                                   context=snippet_context(an)),
                              guidance="scam"))
    app.close()
    return data


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The filled demo household (An's tablet on the block page), an operator and a school
    admin with one class; `safegate serve` with its block page."""
    tmp = tmp_path_factory.mktemp("a11y")
    data = filled_data_dir(tmp / "data")
    app = App(load_settings(env={}, overrides={"server.data_dir": str(data)}))
    kids = {c.name: c.id for c in list_children(app)}
    add_org(app, "SafeGate vận hành", kind="operator")
    add_user(app, OPERATOR, PASSWORD, org="SafeGate vận hành", role="operator")
    school = add_org(app, SCHOOL, kind="school")
    add_user(app, SCHOOL_ADMIN, PASSWORD, org=SCHOOL, role="school_admin")
    klass = add_class(app, school.id, "6A")
    app.close()
    listed = tmp / "blocked.txt"
    listed.write_text("tiktok.com\n")
    page_port = free_tcp_port()
    config = tmp / "web.toml"
    config.write_text(f'[gate]\nblockpage_ipv4 = "127.0.0.1"\n'
                      f'[web]\nblockpage = "127.0.0.1:{page_port}"\n'
                      "login_attempts_per_minute = 1000\n")
    served = start_web_serve("--config", str(config), "--demo", "--no-default-lists",
                             "--data-dir", str(data), "--upstream", "127.0.0.1:9",
                             "--blocklist", str(listed))
    try:
        parent = signed_in_client(served.base, DEMO_LOGIN, DEMO_PASSWORD)
        devices = [d["id"] for c in parent.get("/api/v1/household").json()["children"]
                   for d in c.get("devices", [])]
        parent.close()
        yield {"base": served.base, "an": kids["An"], "binh": kids["Bình"],
               "class": klass.id, "devices": devices,
               "blockpage": f"http://127.0.0.1:{page_port}"}
    finally:
        served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Audit:
    """Runs axe on pages and keeps what it finds, to fail once with every page's list."""

    def __init__(self) -> None:
        self.script = axe_script()
        self.found: list[str] = []
        self.pages = 0

    def check(self, page: Any, name: str) -> None:
        """axe at phone and at desktop width on what ``page`` shows now."""
        for size in (PHONE, DESKTOP):
            page.set_viewport_size(size)
            self.run(page, f"{name} @{size['width']}px")
            if size is PHONE:
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > PHONE["width"]:
                    self.found.append(f"{name} @360px: the page is {width} px wide and "
                                      "scrolls sideways")
                self.rings(page, name)
        page.set_viewport_size(PHONE)

    def rings(self, page: Any, name: str) -> None:
        """Every control the keyboard can reach shows a focus ring that stands out 3:1 from
        what is behind it (axe does not look at focus)."""
        page.keyboard.press("Shift")  # what follows counts as keyboard focus (:focus-visible)
        alike: dict[str, list[str]] = {}  # problem → the controls that have it
        for stop in page.evaluate(FOCUS_RINGS, True):
            for problem in ring_problems(stop):
                alike.setdefault(problem, []).append(stop["name"])
        for problem, names in alike.items():
            more = f" (+{len(names) - SHOWN_TARGETS} more)" \
                if len(names) > SHOWN_TARGETS else ""
            self.found.append(f"{name}: {problem} — {', '.join(names[:SHOWN_TARGETS])}{more}")

    def run(self, page: Any, name: str) -> None:
        self.pages += 1
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.script)
        results = page.evaluate(
            "rules => axe.run(document, {runOnly: {type: 'tag', values: rules},"
            " resultTypes: ['violations']})", RULES)
        for v in results["violations"]:
            targets = [" ".join(str(t) for t in n["target"]) for n in v["nodes"]]
            shown = ", ".join(targets[:SHOWN_TARGETS])
            more = f" (+{len(targets) - SHOWN_TARGETS} more)" \
                if len(targets) > SHOWN_TARGETS else ""
            self.found.append(f"{name}: {v['id']} [{v['impact']}] {v['help']} — "
                              f"{shown}{more}")

    def assert_clean(self) -> None:
        assert self.pages, "no page was audited"
        if self.found:
            pytest.fail(f"{len(self.found)} accessibility problems:\n  "
                        + "\n  ".join(self.found))


def luminance(colour: str) -> float:
    """The relative luminance (WCAG) of a CSS ``rgb(r, g, b)`` or ``rgba(...)`` colour."""
    found = re.match(r"rgba?\((\d+), (\d+), (\d+)", colour)
    assert found is not None, colour
    parts = [int(c) / 255 for c in found.groups()]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def colours(css: str) -> list[str]:
    """The colours in a computed style value (a gradient, a box-shadow)."""
    return re.findall(r"rgba?\([^)]*\)", css)


WHITE = "rgb(255, 255, 255)"
STYLE = """e => { const s = getComputedStyle(e); return {
  bg: s.backgroundColor, image: s.backgroundImage, shadow: s.boxShadow,
  outline: s.outlineStyle === 'none' ? '' : s.outlineColor}; }"""


# The focus ring of every control the keyboard reaches (all) or of the focused one.
FOCUS_RINGS = """all => {
  const out = [];
  const reachable = 'a[href], button, input:not([type=hidden]), select, textarea, summary,'
    + ' [tabindex]:not([tabindex="-1"])';
  const stops = all ? document.querySelectorAll(reachable) : [document.activeElement];
  for (const e of stops) {
    if (!e || !e.matches(reachable) || e.disabled || !e.getClientRects().length) continue;
    e.focus();
    if (document.activeElement !== e) continue;
    const s = getComputedStyle(e);
    let behind = 'rgb(255, 255, 255)';
    for (let p = e.parentElement; p; p = p.parentElement) {
      const c = getComputedStyle(p).backgroundColor;
      if (c !== 'rgba(0, 0, 0, 0)') { behind = c; break; }
    }
    out.push({name: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (e.classList.length ? '.' + e.classList[0] : ''),
              outline: s.outlineStyle === 'none' || s.outlineWidth === '0px'
                ? '' : s.outlineColor,
              offset: s.outlineOffset, bg: s.backgroundColor, shadow: s.boxShadow, behind});
  }
  if (all && document.activeElement) document.activeElement.blur();
  return out;
}"""


def ring_problems(stop: dict[str, str]) -> list[str]:
    """What is wrong with the focus ring of one keyboard stop (FOCUS_RINGS)."""
    if not stop["outline"]:
        return ["no focus ring"]
    if stop["offset"].startswith("-"):  # drawn inside (the grid's hours): it, or the ring
        # within it, stands out from the fill
        behind = stop["bg"]
        ring = max([stop["outline"], *colours(stop["shadow"])],
                   key=lambda c: contrast(c, behind))
    else:
        behind, ring = stop["behind"], stop["outline"]
    ratio = contrast(ring, behind)
    if ratio >= UI_CONTRAST:
        return []
    return [f"focus ring {ring} on {behind} is {ratio:.2f}:1 (WCAG 1.4.11 asks 3:1)"]


def sign_in(context: Any, base: str, login: str, password: str) -> Any:
    page = context.new_page()
    page.goto(base + "/signin")
    page.fill("#login", login)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_load_state()
    page.wait_for_url(re.compile(r".*/(household|operator|school|activity)$"))
    return page


def visit(page: Any, url: str, status: int = 200) -> None:
    answer = page.goto(url)
    assert answer is not None and answer.status == status, (url, answer and answer.status)


def test_a_parents_pages_pass_axe_at_both_widths(world: dict[str, Any], browser: Any) -> None:
    base, an = world["base"], world["an"]
    audit = Audit()
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    visit(page, base + "/signin")
    audit.check(page, "signin")
    page.fill("#login", DEMO_LOGIN)
    page.fill("#password", "not the password")
    with page.expect_navigation():
        page.press("#password", "Enter")
    assert page.locator(".error").count() == 1
    audit.check(page, "signin (wrong password)")
    page.close()
    page = sign_in(context, base, DEMO_LOGIN, DEMO_PASSWORD)
    pages = {
        "household": "/household",
        "child": f"/children/{an}?note=saved",
        "schedules": f"/children/{an}/schedules",
        "budgets": f"/children/{an}/budgets",
        "consents": f"/children/{an}/consents",
        "report": f"/children/{an}/report",
        "about-me": f"/children/{an}/about-me",
        "activity": "/activity",
        "alerts": "/alerts",
        "account-security": "/account/security",
        "api-tokens": "/account/tokens",
        "invites": "/invites",
        "child-new": "/children/new",
        "device": f"/devices/{world['devices'][0]}",
        "device-setup": f"/devices/{world['devices'][0]}/setup",
    }
    for name, path in pages.items():
        visit(page, base + path)
        audit.check(page, name)
    visit(page, base + "/children/999999", 404)
    audit.check(page, "404")
    # the child's link: the page, the link made (with its QR code), then the child's own
    # page opened on a device with no session
    visit(page, base + f"/children/{an}/child-link")
    audit.check(page, "child-link")
    page.click("#make-link")
    page.wait_for_selector("#child-link-url")
    audit.check(page, "child-link made")
    url = page.input_value("#child-link-url")
    childs = browser.new_context(viewport=PHONE, locale="vi-VN")
    phone = childs.new_page()
    visit(phone, url)
    audit.check(phone, "me (child's page)")
    page.click("#end-link")
    page.wait_for_selector("#make-link")
    visit(phone, url, 404)
    audit.check(phone, "me (stopped link)")
    childs.close()
    # a few in English
    english = {"household": "/household", "child": f"/children/{an}",
               "schedules": f"/children/{an}/schedules",
               "about-me": f"/children/{an}/about-me?lang=en&band=14-17"}
    page.select_option("#locale-pick", "en")
    with page.expect_navigation():
        page.click("#locale-pick ~ button")
    for name, path in english.items():
        visit(page, base + path)
        assert page.locator("html").get_attribute("lang") == "en", name
        audit.check(page, f"{name} (en)")
    context.close()
    audit.assert_clean()


def test_the_block_page_passes_axe(world: dict[str, Any], browser: Any) -> None:
    """The block page as An's tablet sees it: the browser's requests for the blocked site
    are sent from the tablet's address to where the block page listens."""
    tablet = httpx.Client(transport=httpx.HTTPTransport(local_address=TABLET), timeout=30)

    def from_the_tablet(route: Any) -> None:
        request = route.request
        path = request.url.split(BLOCKED, 1)[1] or "/"
        headers = {"Host": BLOCKED, "Accept-Language": "vi-VN,vi;q=0.9"}
        for name in ("cookie", "content-type"):
            if name in request.headers:
                headers[name] = request.headers[name]
        answer = tablet.request(request.method, world["blockpage"] + path, headers=headers,
                                content=request.post_data_buffer)
        route.fulfill(status=answer.status_code, body=answer.content,
                      headers={k: v for k, v in answer.headers.items()
                               if k.lower() not in ("content-length", "content-encoding")})

    audit = Audit()
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    context.route(f"http://{BLOCKED}/**", from_the_tablet)
    page = context.new_page()
    visit(page, f"http://{BLOCKED}/watch?v=1")
    assert "Trang này đã bị chặn" in page.content()
    audit.check(page, "blockpage")
    page.fill("#ask-message", "con cần xem")
    with page.expect_navigation():
        page.press("#ask-message", "Enter")
    assert page.locator(".note").count() == 1
    audit.check(page, "blockpage (asked)")
    context.close()
    tablet.close()
    audit.assert_clean()


def test_the_operator_and_school_pages_pass_axe(world: dict[str, Any], browser: Any) -> None:
    base = world["base"]
    audit = Audit()
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = sign_in(context, base, OPERATOR, PASSWORD)
    for path, name in (("/operator", "operator"), ("/operator/accounts", "operator accounts"),
                       ("/operator/notices", "operator notices")):
        visit(page, base + path)
        audit.check(page, name)
    context.close()
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = sign_in(context, base, SCHOOL_ADMIN, PASSWORD)
    visit(page, base + "/school")
    audit.check(page, "school")
    visit(page, base + f"/school/classes/{world['class']}")
    audit.check(page, "school class")
    context.close()
    audit.assert_clean()


def test_what_only_a_colour_shows_stands_out_3_to_1(world: dict[str, Any],
                                                      browser: Any) -> None:
    """What axe does not measure (WCAG 1.4.11): the week grid's hours (a window, one turned
    off, a chosen hour, now) against a free hour and the white borders, and the focus ring of
    every stop the keyboard reaches on the page against what is behind it."""
    base = world["base"]
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = sign_in(context, base, DEMO_LOGIN, DEMO_PASSWORD)
    visit(page, base + f"/children/{world['an']}/schedules")
    free = page.locator("td.cell.free").first.evaluate(STYLE)["bg"]
    low: list[str] = []

    def need(what: str, a: str, b: str) -> None:
        if contrast(a, b) < UI_CONTRAST:
            low.append(f"{what}: {a} on {b} is {contrast(a, b):.2f}:1")

    on = page.locator(".legend .cell.on").evaluate(STYLE)
    need("a window", on["bg"], free)
    need("a window", on["bg"], WHITE)
    off = page.locator(".legend .cell.off").evaluate(STYLE)
    hatching = [c for c in colours(off["image"]) if not c.startswith("rgba(0, 0, 0, 0")]
    ink = (hatching or [off["bg"]])[0]  # flat: the fill itself
    need("a window turned off", ink, free)
    need("a window turned off", ink, WHITE)
    now = page.locator(".legend .cell.now").evaluate(STYLE)
    need("now (outer ring)", now["outline"], free)
    need("now (inner ring)", (colours(now["shadow"]) or [now["outline"]])[0], on["bg"])
    cell = page.locator('td.cell[data-day="tue"][data-hour="10"]')
    cell.click()
    picked = cell.evaluate(STYLE)
    assert "picked" in (cell.get_attribute("class") or "")
    ring = (colours(picked["shadow"]) or [picked["bg"]])[0]  # no ring: the fill itself
    need("a chosen hour", ring, free)
    need("a chosen hour", ring, WHITE)
    # the keyboard alone: Tab from the top of the page reaches the grid and the form, each
    # stop with a ring that stands out
    visit(page, base + f"/children/{world['an']}/schedules")
    seen = []
    for _ in range(100):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_RINGS, False)
        if not stop:
            break
        seen.append(stop[0]["name"])
        low.extend(f"{stop[0]['name']}: {problem}" for problem in ring_problems(stop[0]))
    context.close()
    assert "td.cell" in seen and "input#win-name" in seen and "button" in seen, seen
    if low:
        pytest.fail("too little contrast:\n  " + "\n  ".join(low))
