"""The blocked-services catalogue and the generated docs/services.md."""

from __future__ import annotations

from types import ModuleType

import pytest

from safegate.lists.services import (
    GROUPS,
    Service,
    is_valid_hostname,
    parse_services,
    service,
    service_ids,
    services,
    services_for_domain,
)
from tests.helpers import REPO, load_script

REQUIRED = [
    # global
    "tiktok", "youtube", "facebook", "instagram", "messenger", "threads", "twitter", "snapchat",
    "discord", "telegram", "whatsapp", "reddit", "twitch", "netflix", "roblox", "minecraft",
    "fortnite", "steam", "epic_games", "pubg", "genshin_impact", "chatgpt", "character_ai",
    "pinterest", "tumblr", "likee", "kick", "random_video_chat", "among_us", "free_fire",
    "mobile_legends", "clash_of_clans", "riot_games", "brawl_stars", "gemini", "claude",
    "copilot", "spotify", "disney_plus", "temu", "lazada", "aliexpress", "tinder",
    # Vietnam
    "zalo", "lien_quan", "garena", "play_together", "fpt_play", "vieon", "nhaccuatui",
    "zing_mp3", "bigo_live", "shopee", "tiki", "tv360", "mytv", "k_plus", "lotus", "gapo",
    "pops", "zing",
]


def test_catalogue_size_and_unique_ids() -> None:
    ids = service_ids()
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("sid", REQUIRED)
def test_required_services_present(sid: str) -> None:
    assert service(sid).id == sid


@pytest.mark.parametrize("svc", services(), ids=lambda s: s.id)
def test_service_fields(svc: Service) -> None:
    assert svc.group in GROUPS
    assert svc.name.strip() and svc.name_vi.strip() and svc.icon.strip()
    assert svc.domains, svc.id
    assert len(set(svc.domains)) == len(svc.domains)
    for d in svc.domains:
        assert is_valid_hostname(d), d
        assert "://" not in d and "*" not in d and d == d.lower()
    assert svc.note is None or svc.note.strip() == svc.note


def test_no_domain_is_listed_under_two_services() -> None:
    owner: dict[str, str] = {}
    for svc in services():
        for d in svc.domains:
            assert d not in owner, f"{d} in both {owner[d]} and {svc.id}"
            owner[d] = svc.id


def test_every_group_is_used() -> None:
    assert {s.group for s in services()} == set(GROUPS)


@pytest.mark.parametrize(
    "name",
    ["tiktok.com", "v16-webapp.tiktok.com", "a.b.c.co", "xn--80ak6aa92e.com", "x-1.example.vn"],
)
def test_valid_hostnames(name: str) -> None:
    assert is_valid_hostname(name)


@pytest.mark.parametrize(
    "name",
    ["", "com", "TikTok.com", "https://tiktok.com", "*.tiktok.com", ".tiktok.com", "tiktok.com.",
     "tiktok.com:443", "-bad.com", "bad-.com", "a..b.com", "under_score.com", "1.2.3.4",
     "a" * 64 + ".com", "tiktok com"],
)
def test_invalid_hostnames(name: str) -> None:
    assert not is_valid_hostname(name)


def test_services_for_domain() -> None:
    assert "tiktok" in services_for_domain("v16-webapp.tiktok.com")
    assert services_for_domain("V16-WebApp.TikTok.com.") == ("tiktok",)
    assert services_for_domain("rr3---sn-8qj-i5o6.googlevideo.com") == ("youtube",)
    assert services_for_domain("chat.zalo.me") == ("zalo",)
    assert services_for_domain("dl.kgvn.garenanow.com") == ("lien_quan", "garena")
    assert services_for_domain("fortnite-public-service-prod11.ol.epicgames.com") == (
        "fortnite", "epic_games")
    assert services_for_domain("edge-mqtt.facebook.com") == ("messenger", "facebook")
    assert services_for_domain("gemini.google.com") == ("gemini",)
    assert services_for_domain("www.google.com") == ()
    assert services_for_domain("nottiktok.com") == ()
    assert services_for_domain("") == ()


def test_shared_infrastructure_is_not_claimed() -> None:
    for shared in ("google.com", "googleapis.com", "gstatic.com", "qq.com", "alicdn.com",
                   "akamaized.net", "akamaihd.net", "fastly.net", "cloudfront.net",
                   "amazonaws.com", "live-video.net", "xboxlive.com", "microsoft.com",
                   "bing.com", "apple.com", "appspot.com"):
        assert services_for_domain(shared) == (), shared


def test_notes_on_shared_infrastructure() -> None:
    facebook_note = service("facebook").note or ""
    assert "Instagram" in facebook_note and "Messenger" in facebook_note
    assert "googlevideo.com" in (service("youtube").note or "")
    assert "Log in with Zalo" in (service("zalo").note or "")
    assert "IP" in (service("telegram").note or "")


def test_vietnamese_names() -> None:
    assert service("lien_quan").name_vi == "Liên Quân Mobile"
    assert service("tiktok").name_vi == "TikTok"  # defaults to the name


def test_unknown_service_hints_valid_ids() -> None:
    with pytest.raises(ValueError) as err:
        service("tik")
    message = str(err.value)
    assert "'tik'" in message and "tiktok" in message and "Valid ids" in message


def test_services_are_cached() -> None:
    assert services() is services()


_ONE = """
[[service]]
id = "{id}"
name = "App"
group = "{group}"
icon = "x"
domains = [{domains}]
"""


def test_parse_services_validates() -> None:
    ok = _ONE.format(id="app", group="games", domains='"app.com"')
    parsed = parse_services(ok)
    assert parsed[0].name_vi == "App" and parsed[0].note is None
    with pytest.raises(ValueError, match="duplicate"):
        parse_services(ok * 2)
    with pytest.raises(ValueError, match="group"):
        parse_services(_ONE.format(id="app", group="toys", domains='"app.com"'))
    with pytest.raises(ValueError, match="hostname"):
        parse_services(_ONE.format(id="app", group="games", domains='"*.app.com"'))
    with pytest.raises(ValueError, match="twice"):
        parse_services(_ONE.format(id="app", group="games", domains='"app.com", "app.com"'))
    with pytest.raises(ValueError, match="non-empty list"):
        parse_services(_ONE.format(id="app", group="games", domains=""))
    with pytest.raises(ValueError, match="unknown field"):
        parse_services(ok + 'url = "https://app.com"\n')


def _generator() -> ModuleType:
    return load_script("gen_categories_doc")


def test_services_doc_is_up_to_date() -> None:
    gen = _generator()
    doc = REPO / "docs" / "services.md"
    assert doc.exists(), "run: python scripts/gen_categories_doc.py"
    assert doc.read_text(encoding="utf-8") == gen.render_services(), (
        "docs/services.md is stale: run python scripts/gen_categories_doc.py"
    )
