"""Identification and outcomes against the synthetic borough's ground truth.

- With complete data (every resident in their true home, every true event a flag), kinfold's
  family formation, eligibility and outcome rules reproduce the truth: this checks the
  programme's own part.
- With perfect linkage (each partner record in its true person, only the people partners send),
  nearly every family can be seen: the health visiting caseload shows babies, post-16
  participation shows 18- and 19-year-olds at college.
- Through the whole pipeline (partners' extracts, with their recording errors, encoded, linked and
  ingested), the Done-when target is precision and recall of at least 0.98 and the number of
  families that improved within 2%. This measures ingest, linkage and family formation together;
  `python -m benchmarks.programme` does the same at 250,000 residents (docs/benchmarks.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kinfold.ingest import services as ingest
from kinfold.programme import accuracy
from kinfold.programme.identification import identify
from kinfold.quarters import Quarter, quarter_range
from kinfold.synth import generate

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SCHEMAS = Path(__file__).resolve().parents[2] / "config" / "schemas"
FIRST, QUARTERS = Quarter(2015, 2), 8
#: The partners' linkage secret for the whole-pipeline test: fixed (with the test keys' person-id
#: namespace) so that a run is repeatable — at this size one family is four points of precision.
PARTNERS_SECRET = bytes(range(32))


def _identify_all(quarters: list[Quarter]) -> None:
    for quarter in quarters:
        identify(quarter)


def test_with_complete_data_identification_reproduces_the_truth(
    agreements: None, tmp_path: Path, settings: object
) -> None:
    # Every resident is in the data every quarter: nobody needs presuming at home.
    settings.KINFOLD_UNSEEN_AT_HOME_QUARTERS = 0  # type: ignore[attr-defined]
    settings.KINFOLD_UNSEEN_FAMILY_QUARTERS = 0  # type: ignore[attr-defined]
    out = tmp_path / "borough"
    generate(out, residents=12_000, seed=7, start=FIRST, quarters=QUARTERS, extracts=False)
    quarters = quarter_range(FIRST, QUARTERS)
    accuracy.load_truth(out / "truth", SCHEMAS, [str(q) for q in quarters], everyone=True)

    _identify_all(quarters)

    score = accuracy.evaluate(out / "truth", str(quarters[-1]), perfect=True)
    assert score.truly_eligible >= 20, score.lines()
    assert score.precision >= 0.98, score.lines()
    assert score.recall >= 0.95, score.lines()
    assert score.improved_truth >= 3, score.lines()
    assert score.improved_error <= 0.02, score.lines()


def test_with_perfect_linkage_what_partners_send_shows_nearly_every_family(
    agreements: None, tmp_path: Path
) -> None:
    """Each partner record in its true person, households of the persons with a record: what the
    partners' data can show at best. The health visiting caseload is what shows the families whose
    only child is a baby, post-16 participation those whose only child is 18 or 19 and at college
    (without them recall is about 0.87 here)."""
    out = tmp_path / "borough"
    generate(out, residents=20_000, seed=1, start=FIRST, quarters=QUARTERS, extracts=False)
    quarters = quarter_range(FIRST, QUARTERS)
    accuracy.load_truth(out / "truth", SCHEMAS, [str(q) for q in quarters])

    _identify_all(quarters)

    score = accuracy.evaluate(out / "truth", str(quarters[-1]), perfect=True)
    assert score.truly_eligible >= 50, score.lines()
    assert score.precision >= 0.95, score.lines()
    assert score.recall >= 0.95, score.lines()


def test_through_the_whole_pipeline_identification_meets_the_target(
    agreements: None, tmp_path: Path
) -> None:
    """Partners' extracts through ingest (encode, link, place in households) and identification,
    eight quarters of an 8,000-resident borough, against the truth: the issue's targets. With 24
    eligible families one family is four points of precision, so the run is made repeatable
    (a fixed partners' secret; the person-id namespace comes from the test keys); over five random
    secrets four met every target and one found one family too many (precision 0.96). The
    benchmark measures the 250,000-resident borough (docs/benchmarks.md, Programme)."""
    out = tmp_path / "borough"
    generate(out, residents=8_000, seed=7, start=FIRST, quarters=QUARTERS)
    quarters = quarter_range(FIRST, QUARTERS)
    partners = tmp_path / "partners"
    partners.mkdir()
    (partners / "linkage.secret").write_bytes(PARTNERS_SECRET)
    for quarter in quarters:
        ingest.ingest_quarter(out / "extracts" / str(quarter), partner_dir=partners)
        identify(quarter)

    score = accuracy.evaluate(out / "truth", str(quarters[-1]))
    assert score.truly_eligible >= 10, score.lines()
    assert score.precision >= 0.98, score.lines()
    assert score.recall >= 0.98, score.lines()
    assert score.improved_error <= 0.02, score.lines()
