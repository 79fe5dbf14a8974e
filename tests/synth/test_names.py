"""Names, nickname and spelling-variant groups, and the forms surnames take."""

from __future__ import annotations

from importlib import resources

import numpy as np

from kinfold.synth import nickname_groups, variant_groups
from kinfold.synth.names import as_recorded, name_bank, nicknames_of, strip_accents, variants_of


def test_nickname_groups_read_from_the_data_file() -> None:
    groups = nickname_groups()
    assert ("robert", "bob", "bobby", "rob", "robbie", "bert") in groups
    assert nicknames_of("Robert") == ("bob", "bobby", "rob", "robbie", "bert")
    assert "robert" in nicknames_of("BOB")
    assert nicknames_of("Zebedee") == ()


def test_the_nickname_file_keeps_linkages_format() -> None:
    # Linkage may read data/nicknames.txt itself: lower case, space-separated, "#" comments.
    text = resources.files("kinfold.synth.data").joinpath("nicknames.txt").read_text("utf-8")
    for line in text.splitlines():
        body = line.split("#", 1)[0].strip()
        if body:
            assert body == body.lower()
            assert all(name.replace("'", "").isalpha() for name in body.split())


def test_variants_and_anglicised_spellings() -> None:
    assert "muhammad" in variants_of("Mohammed")
    assert "shivaun" in variants_of("Siobhán")
    assert any("chowdhury" in group for group in variant_groups())
    assert strip_accents("Łukasz Wiśniewski") == "Lukasz Wisniewski"
    # \u0131 is the Turkish dotless i, which has no accent to drop but is still not an ASCII i.
    assert strip_accents("Y\u0131lmaz \u015eahin Se\u00e1n") == "Yilmaz Sahin Sean"


def test_a_name_is_recorded_in_the_casing_of_the_original() -> None:
    assert as_recorded("ROBERT", "bob") == "BOB"
    assert as_recorded("robert", "bob") == "bob"
    assert as_recorded("Robert", "bob") == "Bob"


def test_surnames_take_their_feminine_forms() -> None:
    bank = name_bank()
    index = {name: i for i, name in enumerate(bank.surnames)}
    family = np.array(
        [index["Kowalski"], index["Singh"], index["Smith"], index["Ivanov"]], np.int32
    )
    women = [bank.surnames[i] for i in bank.surname_for(family, np.ones(4, bool))]
    men = [bank.surnames[i] for i in bank.surname_for(family, np.zeros(4, bool))]
    assert women == ["Kowalska", "Kaur", "Smith", "Ivanova"]
    assert men == ["Kowalski", "Singh", "Smith", "Ivanov"]
    assert bank.masculine[index["Kaur"]] == -1  # a man never carries Kaur
    assert bank.masculine[index["Kowalska"]] == index["Kowalski"]


def test_every_origin_has_given_names_for_both_sexes_and_surnames() -> None:
    bank = name_bank()
    assert len(bank.origins) == 10
    for origin in bank.origins:
        for sex in (0, 1):
            assert len(bank.given_pools[origin, sex].indices) >= 25
        assert len(bank.surname_pools[origin].indices) >= 25
        assert abs(bank.surname_pools[origin].weights.sum() - 1) < 1e-9
