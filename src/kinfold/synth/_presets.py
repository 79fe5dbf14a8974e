"""Ready-made borough sizes for the demo, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """A borough size and run: residents at the start, quarters, seed and first quarter."""

    residents: int
    quarters: int
    seed: int = 1
    start: str = "2015Q2"

    def describe(self) -> str:
        """One line for --help."""
        return f"{self.residents:,} residents, {self.quarters} quarters from {self.start}"


#: `demo` keeps `make demo` quick (a few seconds); `test` is what the test suite builds once;
#: `borough` is the calibrated outer-London size; `large` the benchmark's million.
PRESETS: dict[str, Preset] = {
    "demo": Preset(residents=6_000, quarters=8),
    "test": Preset(residents=4_000, quarters=8),
    "borough": Preset(residents=250_000, quarters=20),
    "large": Preset(residents=1_000_000, quarters=20),
}
