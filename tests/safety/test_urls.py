"""The URL scorer: lists first, then the address itself, then (when asked) the page text,
read from a real HTTP server on 127.0.0.1; and its findings in the gate's auto store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safegate.app.core import App
from safegate.config import load_settings
from safegate.lists.auto import pending_domains, record_seen, set_operator
from safegate.safety.url_fetch import FetchError, FetchLimits, fetch_page, visible_text
from safegate.safety.urls import (
    RECORD_AT,
    UrlError,
    categorise_pending,
    osa_distance,
    parse_target,
    passages,
    score_url,
    skeleton,
)
from safegate.store.db import session_factory
from safegate.store.models import DomainCategory, SeenDomain
from tests.helpers import PageServer

# ---------------------------------------------------------------- a real local web server


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.stop()


LOCAL = FetchLimits(allow_loopback=True)

# ---------------------------------------------------------------- lexical layer


@pytest.mark.parametrize(("url", "verdicts", "codes"), [
    ("vietcombank-xacminh.top", {"block"}, {"brand_lure", "risky_tld"}),
    ("vietcornbank.com.vn", {"block", "warn"}, {"lookalike"}),
    ("momo-nhanqua.xyz/login", {"block"}, {"brand_lure"}),
    ("https://vietcombank.com.vn.secure-login.top/", {"block"}, {"brand_domain_prefix"}),
    ("techcombank-uudai.com", {"block"}, {"brand_lure"}),
    ("dichvucong-govvn.com", {"block"}, {"brand_lure"}),
    ("dichvucong.dinhdanhcutru.com", {"block"}, {"brand_lure"}),
    ("vneid-capnhat.online", {"block"}, {"brand_lure"}),
    ("acb.chamsockhachhang-the-tructuyen-thang9.com.vn", {"block"}, {"brand_lure"}),
    ("paypa1.com", {"block"}, {"lookalike"}),
    ("steamcommunnity.com", {"block"}, {"typosquat"}),
    ("dlscord.com", {"block"}, {"lookalike"}),
    ("facebook-xacminh.site", {"block"}, {"brand_lure"}),
    ("nhanquafreefire.pw", {"block"}, {"game_lure"}),
    ("robux-free.xyz", {"block"}, {"game_lure"}),
    ("https://example-shop.top/free-fire/nhan-kim-cuong", {"warn", "block"}, {"game_lure"}),
    ("http://vietcombank.com.vn@203.0.113.7/login", {"block"}, {"userinfo_brand"}),
    ("vietcombank.net", {"warn"}, {"brand_mention"}),
    ("chanlemomo.cc", {"warn"}, {"brand_mention"}),
])
def test_lexical_signals_flag_look_alikes(url: str, verdicts: set[str], codes: set[str]) -> None:
    v = score_url(url)
    assert v.verdict in verdicts, v
    assert v.category == "scam"
    assert codes <= {r.code for r in v.reasons}, [r.text for r in v.reasons]
    assert all(r.source == "lexical" for r in v.reasons)
    assert all(r.text for r in v.reasons)


def test_punycode_look_alikes_of_a_bank_and_paypal() -> None:
    vietcombank_idn = "vietcombạnk.com.vn"  # ạ: a with a dot below
    puny = vietcombank_idn.encode("idna").decode()
    assert puny.startswith("xn--")
    for form in (vietcombank_idn, puny, f"https://{puny}/dang-nhap"):
        v = score_url(form)
        assert v.verdict == "block" and v.category == "scam", form
        lookalike = next(r for r in v.reasons if r.code == "lookalike")
        assert "vietcombạnk" in lookalike.text and "Vietcombank" in lookalike.text
    cyrillic = "pаypal.com"  # Cyrillic а
    v = score_url(cyrillic.encode("idna").decode())
    assert v.verdict == "block" and "lookalike" in {r.code for r in v.reasons}
    # An IDN mixing scripts that imitates no brand: a warning, not a block.
    mixed = score_url("xn--" + "sаmplе-shop".encode("punycode").decode() + ".com")
    assert mixed.verdict in ("warn", "unknown")


# ~50 ordinary Vietnamese and global domains (and hosts) that must not be flagged.
ORDINARY = [
    "vietcombank.com.vn", "vcbdigibank.vietcombank.com.vn", "techcombank.com.vn", "bidv.com.vn",
    "vietinbank.vn", "agribank.com.vn", "mbbank.com.vn", "acb.com.vn", "tpb.vn",
    "vpbank.com.vn", "sacombank.com.vn", "momo.vn", "zalopay.vn", "zalo.me", "chat.zalo.me",
    "vnpay.vn", "shopee.vn", "lazada.vn", "tiki.vn", "chinhphu.vn", "dichvucong.gov.vn",
    "bocongan.gov.vn", "vneid.gov.vn", "gdt.gov.vn", "thuedientu.gdt.gov.vn",
    "baohiemxahoi.gov.vn", "moet.gov.vn", "vnexpress.net", "dantri.com.vn", "tuoitre.vn",
    "thanhnien.vn", "zingnews.vn", "kenh14.vn", "24h.com.vn", "vietnamnet.vn", "cafef.vn",
    "vtv.vn", "baomoi.com", "thegioididong.com", "fptshop.com.vn", "cellphones.com.vn",
    "hocmai.vn", "olm.vn", "vietjack.com", "hoc247.net", "google.com", "www.google.com.vn",
    "mail.google.com", "youtube.com", "facebook.com", "m.facebook.com", "apple.com",
    "icloud.com", "paypal.com", "garena.vn", "ff.garena.com", "napthe.vn", "roblox.com",
    "store.steampowered.com", "steamcommunity.com", "discord.com", "wikipedia.org",
    "github.com", "microsoft.com", "login.microsoftonline.com", "netflix.com", "tiktok.com",
    "spotify.com", "amazon.com", "zoom.us", "vnedu.vn", "abbank.vn", "vietbank.com.vn",
    "https://vnexpress.net/kinh-doanh/ngan-hang", "https://www.google.com/search?q=vietcombank",
]


@pytest.mark.parametrize("url", ORDINARY)
def test_ordinary_domains_are_not_flagged(url: str) -> None:
    v = score_url(url)
    assert v.verdict == "allow", [r.text for r in v.reasons]
    assert not v.recordable


def test_brand_own_domains_say_so() -> None:
    for url in ("vietcombank.com.vn", "momo.vn", "google.com", "dichvucong.gov.vn"):
        v = score_url(url)
        assert [r.code for r in v.reasons] == ["own_domain"], url
        assert v.confidence >= 0.9


def test_weak_signals_alone_stay_unknown() -> None:
    for url in ("random-words.xyz", "http://198.51.100.7/", "a.b.c.d.e.f.example.com"):
        v = score_url(url)
        assert v.verdict == "unknown", (url, v)
        assert v.category is None and v.score < 0.5


def test_path_only_findings_are_never_recorded_as_a_domain() -> None:
    v = score_url("http://vietcombank.com.vn@evil-example.top/login")
    assert v.verdict == "block" and v.record_domain is None and not v.recordable
    v = score_url("vietcombank-xacminh.top")
    assert v.recordable and v.record_domain == "vietcombank-xacminh.top"
    v = score_url("acb.chamsockhachhang-the-tructuyen-thang9.com.vn")
    assert v.record_domain == "chamsockhachhang-the-tructuyen-thang9.com.vn"


@pytest.mark.parametrize(("raw", "message"), [
    ("", "empty"), ("ftp://example.com/x", "only http and https"),
    ("not a domain", "spaces"), ("com.vn", "public suffix"), ("http://exa mple.com", "spaces"),
    ("localhost", "not a public host"), ("http://example.com:99999/", "not a valid URL"),
])
def test_bad_input_is_a_clear_error(raw: str, message: str) -> None:
    with pytest.raises(UrlError, match=message):
        score_url(raw)


def test_helpers() -> None:
    assert osa_distance("vietcombank", "vietcornbank", 2) == 2
    assert osa_distance("paypal", "papyal", 1) == 1  # a swap is one edit
    assert osa_distance("abcdef", "uvwxyz", 2) == 3  # stops early past the limit
    assert skeleton("vietcornbank") == skeleton("vietcombank")
    assert skeleton("pаypal") == skeleton("paypal")
    t = parse_target("https://Sub.Vietcombank-XacMinh.TOP:8443/a?b=1")
    assert (t.host, t.registrable, t.label, t.suffix, t.sub_labels, t.port) == (
        "sub.vietcombank-xacminh.top", "vietcombank-xacminh.top", "vietcombank-xacminh", "top",
        ("sub",), 8443)
    assert passages("a\n" * 5) == ["a\na\na\na\na"]
    assert all(len(p) <= 420 for p in passages("Câu dài. " * 500))


# ---------------------------------------------------------------- the list layer


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("lists")
    custom = tmp / "custom.txt"
    custom.write_text("listed-bad.example\nvietcombank-xacminh.top\n")
    settings = load_settings(env={}, overrides={
        "server.data_dir": str(tmp / "data"), "gate.default_lists": False,
        "gate.blocklists": [str(custom)]})
    app = App(settings)
    index = app.load_index()
    return index, app.build_snapshot(index).default


def test_a_listed_domain_is_the_answer(small_index: Any) -> None:
    index, profile = small_index
    for url in ("listed-bad.example", "https://www.listed-bad.example/page",
                "vietcombank-xacminh.top"):
        v = score_url(url, index=index, profile=profile)
        assert v.verdict == "block" and v.confidence == 1.0
        assert [r.source for r in v.reasons] == ["list"], "lists first; nothing else"
        assert "custom" in v.reasons[0].text and "listed-bad.example" in v.reasons[0].text \
            or "vietcombank-xacminh.top" in v.reasons[0].text
        assert not v.recordable, "listed names are not filed again"
    v = score_url("momo-nhanqua.xyz", index=index, profile=profile)
    assert v.verdict == "block" and v.reasons[0].source == "lexical"


@pytest.fixture(scope="module")
def embedded() -> Any:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, overrides={"server.data_dir": tmp})
        app = App(settings)
        index = app.load_index()
        yield index, app.build_snapshot(index).default


def test_embedded_lists_decide_like_the_gate(embedded: Any) -> None:
    from safegate.policy.decide import decide

    index, profile = embedded
    v = score_url("fb88.com", index=index, profile=profile)
    assert (v.verdict, v.category) == ("block", "gambling")
    assert v.reasons[0].source == "list" and "fb88.com" in v.reasons[0].text
    assert decide(profile, index, "fb88.com").action == "block"
    social = score_url("facebook.com", index=index, profile=profile)
    assert (social.verdict, social.category) == ("allow", "social")
    assert "does not block" in social.reasons[0].text
    for url in ("vietcombank.com.vn", "momo.vn", "google.com", "vnexpress.net"):
        assert score_url(url, index=index, profile=profile).verdict == "allow", url
    guarded = score_url("accounts.google.com", index=index, profile=profile)
    assert guarded.verdict == "allow"


# ---------------------------------------------------------------- fetching


def test_fetch_refuses_loopback_and_private_addresses(pages: PageServer) -> None:
    with pytest.raises(FetchError, match="loopback"):
        fetch_page(pages.url("/news"))
    with pytest.raises(FetchError, match="private"):
        fetch_page("http://10.0.0.1/")
    with pytest.raises(FetchError, match="private"):
        fetch_page(pages.url("/to-private"), LOCAL)  # a redirect is checked again
    with pytest.raises(FetchError, match="only http and https"):
        fetch_page(pages.url("/to-file"), LOCAL)
    with pytest.raises(FetchError, match="redirects"):
        fetch_page(pages.url("/loop"), LOCAL)


def test_fetch_reads_text_pages(pages: PageServer) -> None:
    page = fetch_page(pages.url("/redirect"), LOCAL)
    assert page.final_url.endswith("/gambling") and page.redirects == (pages.url("/redirect"),)
    assert "Nhà cái uy tín" in page.text and "tracking" not in page.text
    assert "color: red" not in page.text
    assert fetch_page(pages.url("/gzip"), LOCAL).text == page.text
    assert "casino" in fetch_page(pages.url("/plain"), LOCAL).text
    latin = fetch_page(pages.url("/latin"), LOCAL)
    assert latin.charset == "windows-1252" and latin.text == "Crème brûlée à Hà Noi"
    with pytest.raises(FetchError, match="404"):
        fetch_page(pages.url("/missing"), LOCAL)


@pytest.mark.parametrize("path", ["/binary", "/octet"])
def test_fetch_skips_binary_content(pages: PageServer, path: str) -> None:
    with pytest.raises(FetchError, match="not a text page"):
        fetch_page(pages.url(path), LOCAL)


def test_fetch_stops_at_the_size_cap(pages: PageServer) -> None:
    assert FetchLimits().max_bytes == 512 * 1024 and FetchLimits().timeout == 3.0
    started = time.monotonic()
    page = fetch_page(pages.url("/huge"), LOCAL)
    assert page.truncated and page.bytes_read == 512 * 1024
    assert time.monotonic() - started < 3
    small = fetch_page(pages.url("/huge"), FetchLimits(allow_loopback=True, max_bytes=1000))
    assert small.truncated and small.bytes_read == 1000


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
def test_fetch_gives_up_at_the_deadline(pages: PageServer, path: str) -> None:
    limits = FetchLimits(allow_loopback=True, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch_page(pages.url(path), limits)
    assert time.monotonic() - started < 2.0


def test_visible_text() -> None:
    html = ("<html><head><title>T</title><meta name=description content='Mô tả'>"
            "<script>bad()</script></head><body><p>Một</p><svg><text>x</text></svg>"
            "<p>Hai &amp; ba</p><img alt='ảnh'><noscript>n</noscript></body></html>")
    assert visible_text(html).split("\n") == ["T", "Mô tả", "Một", "Hai & ba", "ảnh"]
    assert visible_text("<p>unclosed <b>tags") == "unclosed tags"


# ---------------------------------------------------------------- page text


def test_page_text_classifies_a_gambling_page(pages: PageServer) -> None:
    v = score_url(pages.url("/gambling"), fetch=True, limits=LOCAL)
    assert (v.verdict, v.category) == ("block", "gambling")
    content = next(r for r in v.reasons if r.code == "page_gambling")
    assert content.source == "content" and content.weight >= 0.8
    assert v.fetched == pages.url("/gambling") and v.record_domain is None  # an IP: no name


def test_page_text_classifies_a_phishing_page(pages: PageServer) -> None:
    v = score_url(pages.url("/phish"), fetch=True, limits=LOCAL)
    assert v.category == "scam" and v.verdict in ("block", "warn")
    assert any(r.code == "page_scam" for r in v.reasons)


def test_page_text_of_an_ordinary_page_and_failures(pages: PageServer) -> None:
    v = score_url(pages.url("/news"), fetch=True, limits=LOCAL)
    assert v.verdict == "unknown" and v.category is None  # only "an IP host"
    assert any(r.code == "clean" for r in v.reasons)
    v = score_url(pages.url("/binary"), fetch=True, limits=LOCAL)
    assert v.fetch_error and "not a text page" in v.fetch_error and v.fetched is None
    v = score_url("vietcombank-xacminh.top", fetch=True,
                  limits=FetchLimits(connect_to={"vietcombank-xacminh.top": ("127.0.0.1", 9)}))
    assert v.verdict == "block" and "loopback" in (v.fetch_error or "")  # lexical still counts
    off = score_url(pages.url("/gambling"), limits=LOCAL)  # fetch is off by default
    assert off.fetched is None and off.category is None


def test_a_domain_is_fetched_by_name_https_first(pages: PageServer) -> None:
    limits = FetchLimits(allow_loopback=True,
                         connect_to={"casino-local.example": ("127.0.0.1", pages.port)})
    before = len(pages.hits)
    v = score_url("casino-local.example", fetch=True, limits=limits)
    assert (v.verdict, v.category) == ("block", "gambling")
    assert v.fetched == "http://casino-local.example/"  # https failed (plain server)
    assert v.recordable and v.record_domain == "casino-local.example"
    assert ("casino-local.example", "/") in pages.hits[before:]


# ---------------------------------------------------------------- the gate's auto store


def test_confident_findings_go_to_the_auto_store(engine: Any, pages: PageServer) -> None:
    record_seen(engine, {"vietcombank-xacminh.top": 9, "vnexpress.net": 50,
                         "casino-local.example": 3, "momo-nhanqua.xyz": 2,
                         "vietcombank.net": 1})
    with session_factory(engine).begin() as s:
        set_operator(s, "momo-nhanqua.xyz", "allow", "our own test page")
    limits = FetchLimits(allow_loopback=True,
                         connect_to={"casino-local.example": ("127.0.0.1", pages.port)})
    with session_factory(engine).begin() as s:
        dry = categorise_pending(s, index=None, dry_run=True)
        assert {o.domain: o.action for o in dry}["vietcombank-xacminh.top"] == "recorded"
    with session_factory(engine)() as s:
        assert s.scalars(select(DomainCategory.domain)
                         .where(DomainCategory.source == "auto")).all() == []
        assert len(pending_domains(s)) == 5, "a dry run changes nothing"
    with session_factory(engine).begin() as s:
        outcomes = {o.domain: o for o in categorise_pending(s, index=None, fetch=True,
                                                            limits=limits)}
    assert {d: o.action for d, o in outcomes.items()} == {
        "vnexpress.net": "kept", "vietcombank-xacminh.top": "recorded",
        "casino-local.example": "recorded", "momo-nhanqua.xyz": "operator",
        "vietcombank.net": "kept"}
    with session_factory(engine)() as s:
        rows = {r.domain: r for r in s.scalars(select(DomainCategory))}
        assert pending_domains(s) == []
        assert all(r.classified for r in s.scalars(select(SeenDomain)))
    assert (rows["vietcombank-xacminh.top"].category, rows["vietcombank-xacminh.top"].source) \
        == ("scam", "auto")
    assert rows["vietcombank-xacminh.top"].confidence >= RECORD_AT
    assert "xacminh" in (rows["vietcombank-xacminh.top"].note or "")
    assert rows["casino-local.example"].category == "gambling"
    assert (rows["momo-nhanqua.xyz"].category, rows["momo-nhanqua.xyz"].source) == (
        "allow", "operator"), "the operator's word is never overwritten"
    assert "vietcombank.net" not in rows, "a warning is not confident enough"


def test_recorded_domains_reach_the_gate_lists(tmp_path: Path) -> None:
    settings = load_settings(env={}, overrides={"server.data_dir": str(tmp_path),
                                                "gate.default_lists": False})
    app = App(settings)
    app.migrate()
    record_seen(app.engine, {"vietcombank-xacminh.top": 1, "momo-nhanqua.xyz": 1})
    with app.sessions().begin() as s:
        set_operator(s, "momo-nhanqua.xyz", "allow")
    index = app.load_index()
    with app.sessions().begin() as s:
        outcomes = {o.domain: o.action for o in categorise_pending(s, index=index)}
    assert outcomes == {"vietcombank-xacminh.top": "recorded", "momo-nhanqua.xyz": "listed"}
    index = app.load_index()  # what the gate does on reload
    v = score_url("www.vietcombank-xacminh.top", index=index)
    assert (v.verdict, v.category, v.reasons[0].source) == ("block", "scam", "list")
    assert "auto/scam" in v.reasons[0].text
    allowed = score_url("momo-nhanqua.xyz", index=index)
    assert allowed.verdict == "allow" and "auto/allow" in allowed.reasons[0].text
