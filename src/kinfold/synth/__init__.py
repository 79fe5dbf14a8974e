"""The synthetic borough: population, life over time, partner extracts, ground truth. No Django.

What others call::

    from kinfold.synth import generate, load_settings, PRESETS

    result = generate("var/borough", residents=6000, quarters=8, seed=1)   # or **asdict(PRESETS["demo"])
    result.eligible_families, result.files, ...

- ``generate(out, *, residents, seed=1, start="2015Q2", quarters=20, settings=None,
  extracts=True, progress=None) -> GenerateResult`` writes DIR/manifest.json, DIR/extracts/<QUARTER>/
  and DIR/truth/ (docs/synth.md). ``extracts=False`` writes the truth only.
- ``load_settings(path=None) -> Settings``: the shipped settings.toml with a file laid over it.
- ``PRESETS``: ready-made sizes (``demo``, ``test``, ``borough``, ``large``).
- ``kinfold.synth.truth``: the reference rules for problems, eligibility and improvement.
- ``kinfold.synth.names.nickname_groups()`` / ``variant_groups()``: name groups (data files in
  ``kinfold/synth/data/``); ``kinfold.synth.identifiers``: synthetic identifiers and their checks.
"""

from kinfold.synth._generate import GenerateResult, Progress, generate
from kinfold.synth._presets import PRESETS, Preset
from kinfold.synth._settings import PARTNERS, Settings, default_settings_text, load_settings
from kinfold.synth.names import nickname_groups, variant_groups

__all__ = [
    "PARTNERS",
    "PRESETS",
    "GenerateResult",
    "Preset",
    "Progress",
    "Settings",
    "default_settings_text",
    "generate",
    "load_settings",
    "nickname_groups",
    "variant_groups",
]
