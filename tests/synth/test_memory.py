"""Memory stays flat as quarters go by: the generator streams a quarter at a time."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from kinfold.synth import generate


def peak(out: Path, quarters: int) -> int:
    tracemalloc.start()
    try:
        generate(out, residents=15_000, quarters=quarters, seed=2)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_three_times_the_quarters_needs_about_the_same_memory(tmp_path: Path) -> None:
    short = peak(tmp_path / "short", 5)
    long = peak(tmp_path / "long", 15)
    assert long < short * 1.3, (short, long)
