"""Server-rendered charts: valid SVG with a title and description, and suppressed numbers
never drawn; presenters suppress small numbers on anything that may be shared."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from kinfold.programme import charts, presenters

SVG = "{http://www.w3.org/2000/svg}"


def test_a_bar_chart_is_svg_with_a_title_and_withholds_small_numbers() -> None:
    svg = charts.bar_chart(
        "c1",
        "Families <by> quarter",
        "A description & more",
        ["2016Q1", "2016Q2"],
        [charts.Series("Identified", [12, None]), charts.Series("Claimed", [0, 7])],
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Families <by> quarter"  # type: ignore[union-attr]
    bars = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    labels = [r.find(f"{SVG}title").text for r in bars]  # type: ignore[union-attr]
    assert labels == ["Identified, 2016Q1: 12", "Claimed, 2016Q1: 0", "Claimed, 2016Q2: 7"]
    assert [t.text for t in root.iter(f"{SVG}text") if t.text == "<5"] == ["<5"]


def test_a_line_chart_leaves_suppressed_points_out() -> None:
    svg = charts.line_chart(
        "c2", "t", "d", ["a", "b", "c"], [charts.Series("Attached so far", [5, None, 15])]
    )
    line = ET.fromstring(svg).find(f"{SVG}polyline")  # noqa: S314 - our own output
    assert line is not None
    assert len(line.get("points", "").split()) == 2


@pytest.mark.parametrize(
    ("count", "shown"), [(0, "0"), (1, "<5"), (4, "<5"), (5, "5"), (1360, "1,360")]
)
def test_small_numbers_are_shown_as_less_than_five(count: int, shown: str) -> None:
    assert presenters.small(count) == shown
    assert presenters.suppressed(count) == (None if shown == "<5" else count)


def test_money_from_few_claims_is_withheld_and_totals_are_rounded() -> None:
    assert presenters.money(1800, 2) == "withheld (fewer than 5 claims)"
    assert presenters.money(4000, 5) == "£4,000"
    assert presenters.rounded(1362) == 1360
    assert presenters.rounded(1363) == 1365
