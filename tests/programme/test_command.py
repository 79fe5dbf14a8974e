"""`kinfold quarter identify`: a one-line summary, clear errors, and the framework as data."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kinfold.programme.models import EligibleFamily, RunStatus
from tests.programme.conftest import NATIONAL, Borough

pytestmark = pytest.mark.django_db


def identify(*args: str) -> str:
    out = StringIO()
    call_command("quarter", "identify", *args, stdout=out)
    return out.getvalue()


def test_changing_a_threshold_changes_the_next_run_without_code(
    borough: Borough, tmp_path: Path
) -> None:
    (mum,), (kid,) = borough.family("H1", ["2015Q2", "2015Q3"])
    borough.flag(mum, "police.asb_incident", "2015Q3")
    borough.flag(kid, "school.attendance", "2015Q3", 92.0)

    first = identify("2015Q3", "--from", "2015Q2")
    assert "2015Q3: 1 families formed from 1 households; 0 eligible" in first

    stricter = tmp_path / "stricter.toml"
    stricter.write_text(NATIONAL.read_text().replace("below = 90 }", "below = 95 }"))
    second = identify("2015Q3", "--framework", str(stricter))

    assert "1 eligible" in second
    eligible = EligibleFamily.objects.get(run__status=RunStatus.DONE)
    assert eligible.problems == ["crime", "education"]
    assert eligible.run.framework_sha256 != ""
    assert "below = 95" in eligible.run.framework_text


def test_a_bad_framework_is_one_clear_error(borough: Borough, tmp_path: Path) -> None:
    borough.family("H1", ["2015Q2"])
    broken = tmp_path / "broken.toml"
    broken.write_text(NATIONAL.read_text().replace("lookback_months = 12", "lookback_months = 5"))
    with pytest.raises(CommandError, match=r"broken\.toml, field 'eligibility\.lookback_months'"):
        identify("2015Q2", "--framework", str(broken))


def test_a_quarter_without_data_is_a_clear_error(borough: Borough) -> None:
    with pytest.raises(CommandError, match="no household data for 2016Q1"):
        identify("2016Q1")
