"""Calibration: a borough of 250,000 has about 1,360 families meeting two of the six problems over
the five years from 2015Q2 (the figure an outer-London borough of that size committed to), and a
third to a half of them improve and stay improved."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinfold.synth import generate

TARGET = 1360


@pytest.mark.slow
def test_a_250000_resident_borough_has_about_1360_eligible_families(tmp_path: Path) -> None:
    # The truth alone (no extracts) is the same borough and takes a fraction of the time.
    result = generate(tmp_path / "borough", residents=250_000, quarters=20, extracts=False)
    assert TARGET * 0.85 <= result.eligible_families <= TARGET * 1.15
    improved = result.improved_families / result.eligible_families
    assert 1 / 3 <= improved <= 1 / 2
    assert 0 < result.relapsed_families < result.improved_families / 2  # some relapse, most do not
