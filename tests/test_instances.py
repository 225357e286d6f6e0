"""Static instances of the variable EB Garamond for print (:mod:`edition.instances`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from edition import instances, web


def _variable(stem: str = "EBGaramond") -> Path:
    fonts = {asset.target: asset.source for asset in web.font_assets()}
    return Path(str(fonts[f"assets/fonts/{stem}.ttf"]))


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty cache folder, and no instance remembered by this process."""
    monkeypatch.setenv("EDITION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(instances, "_made", {})
    return tmp_path / "cache" / "fonts"


def test_an_instance_is_static_at_its_weight_and_the_same_bytes_every_time(
    fresh: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    variable = _variable()
    made = instances.static_instance(variable, 600)
    assert made.parent == fresh and made.name.startswith("EBGaramond-600-")
    with TTFont(str(made)) as font, TTFont(str(variable)) as original:
        assert "fvar" not in font and "gvar" not in font
        assert font["OS/2"].usWeightClass == 600
        assert font.getBestCmap() == original.getBestCmap()
        assert font["head"].modified == original["head"].modified  # no clock in the file
    again_folder = tmp_path / "again"
    monkeypatch.setenv("EDITION_CACHE", str(again_folder))
    monkeypatch.setattr(instances, "_made", {})
    again = instances.static_instance(variable, 600)
    assert again.parent == again_folder / "fonts" and again.read_bytes() == made.read_bytes()


def test_an_instance_is_made_once_and_then_reused(fresh: Path) -> None:
    variable = _variable("EBGaramond-Italic")
    first = instances.static_instance(variable, 400)
    stamp = first.stat().st_mtime_ns
    instances._made.clear()  # a new process: the file on disk is reused, not made again
    assert instances.static_instance(variable, 400) == first and first.stat().st_mtime_ns == stamp
    assert [p.name for p in fresh.iterdir()] == [first.name]  # no temporary left behind


def test_names_change_with_the_weight_and_the_font() -> None:
    roman, italic = _variable(), _variable("EBGaramond-Italic")
    names = {instances.instance_name(f, w) for f in (roman, italic) for w in (400, 500)}
    assert len(names) == 4


def test_an_unwritable_cache_falls_back_to_a_temporary_folder(
    fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh.parent.mkdir(parents=True)
    fresh.write_text("a file where the folder should be", encoding="utf-8")
    made = instances.static_instance(_variable(), 400)
    assert made.is_file() and not made.is_relative_to(fresh.parent)
