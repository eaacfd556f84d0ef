"""The service filter: every word, any case, with or without Vietnamese diacritics."""

from __future__ import annotations

from safegate.lists.services import services
from safegate.web.finder import fold, matching


def ids(query: str | None) -> list[str]:
    return [s.id for s in matching(services(), query)]


def test_words_match_without_diacritics_or_case() -> None:
    assert ids("lien quan") == ["lien_quan"] == ids("LIÊN QUÂN") == ids("quân liên")
    assert "tiktok" in ids("tik") and "youtube" not in ids("tik")


def test_an_empty_query_keeps_every_service_and_nonsense_keeps_none() -> None:
    assert len(ids("")) == len(services()) == len(ids(None)) == len(ids("   "))
    assert ids("zzzz qqqq") == []


def test_a_group_name_finds_its_services() -> None:
    games = ids("games")
    assert "lien_quan" in games and "tiktok" not in games
    assert fold("  Đường   Lên ") == "duong len"
