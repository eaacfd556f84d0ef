"""Age presets and the Decree 147 preset: data that must agree with the catalogues."""

from __future__ import annotations

import pytest

from safegate.lists.parse import normalise_domain
from safegate.lists.services import service_ids
from safegate.lists.taxonomy import category_ids
from safegate.policy.presets import BANDS, band_for_age, decree147, preset, presets
from safegate.store.choices import YOUTUBE_MODES


def test_every_preset_names_real_categories_services_and_domains() -> None:
    for p in presets():
        assert set(p.blocked_categories) <= set(category_ids()) - {"custom"}, p.id
        assert set(p.blocked_services) <= set(service_ids()), p.id
        assert all(normalise_domain(d) == d for d in p.allow), p.id
        assert p.youtube_mode in YOUTUBE_MODES


def test_the_bands_cover_ages_0_to_17_once_each() -> None:
    assert [band_for_age(age).band for age in range(18)] == (
        ["under_7"] * 7 + ["7_10"] * 4 + ["11_13"] * 3 + ["14_15"] * 2 + ["16_17"] * 2)
    assert tuple(p.band for p in presets()) == BANDS
    with pytest.raises(ValueError, match="age 18"):
        band_for_age(18)


def test_younger_children_get_at_least_the_blocks_of_older_ones() -> None:
    ordered = presets()
    for younger, older in zip(ordered, ordered[1:], strict=False):
        assert set(older.blocked_categories) <= set(younger.blocked_categories), older.id


def test_under_7_is_a_walled_garden_with_child_friendly_sites() -> None:
    p = preset("under_7")
    assert p.allow_list_only and "pbskids.org" in p.allow
    assert not any(q.allow_list_only for q in presets()[1:])


def test_decree147_is_60_minutes_a_game_and_180_a_day_for_the_games_group() -> None:
    rule = decree147()
    assert (rule.minutes_per_game, rule.minutes_per_day, rule.target) == (60, 180, "group:games")
    assert "147/2024/NĐ-CP" in rule.source


def test_an_unknown_preset_lists_the_real_ones() -> None:
    with pytest.raises(ValueError, match="age_7_10"):
        preset("teen")
