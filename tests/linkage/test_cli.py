"""The linkage commands end to end, through `kinfold.cli.main` as a partner or analyst runs them."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import pytest

from kinfold.cli import main
from kinfold.linkage import EncodedTable, new_secret
from tests.linkage.conftest import LEFT_PEOPLE, RIGHT_PEOPLE

#: The issue's MAP, word for word.
SCHOOL_MAP = (
    "given_name=forename,surname=surname,dob=dob:%Y-%m-%d,sex=sex,address=address,"
    "postcode=postcode,id=school_ref"
)
HEADER = ["school_ref", "forename", "surname", "dob", "sex", "address", "postcode"]


def _write(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _school(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [dict(r, school_ref=r["ref"]) for r in rows]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return (
        _write(tmp_path / "a.csv", _school(LEFT_PEOPLE)),
        _write(tmp_path / "b.csv", _school(RIGHT_PEOPLE)),
    )


def _link(left: Path, right: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "link",
            "--left",
            str(left),
            "--left-map",
            SCHOOL_MAP,
            "--right",
            str(right),
            "--right-map",
            SCHOOL_MAP,
            "--out",
            str(out),
            *extra,
        ]
    )


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_link_works_exactly_as_the_issue_writes_it(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "links.csv"
    assert _link(*files, out) == 0
    with out.open(newline="") as handle:
        assert next(csv.reader(handle)) == ["left_id", "right_id", "score"]
    rows = _read(out)
    assert {(r["left_id"], r["right_id"]) for r in rows} == {
        (f"L{n}", f"R{n}") for n in range(1, 7)
    }
    assert all(0.5 <= float(r["score"]) <= 1.0 for r in rows)
    assert "6 links" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("male", "female"), [("M", "F"), ("Male", "Female"), ("1", "2"), ("male", "f")]
)
def test_sex_in_any_usual_coding_links_and_agrees(tmp_path: Path, male: str, female: str) -> None:
    coded = {"M": male, "F": female, "Male": male, "female": female, "1": male, "2": female}
    right = [dict(r, school_ref=r["ref"], sex=coded[r["sex"]]) for r in RIGHT_PEOPLE]
    out = tmp_path / "links.csv"
    left = _write(tmp_path / "l.csv", _school(LEFT_PEOPLE))
    assert _link(left, _write(tmp_path / "r.csv", right), out) == 0
    assert {(r["left_id"], r["right_id"]) for r in _read(out)} == {
        (f"L{n}", f"R{n}") for n in range(1, 7)
    }
    # and the codings are the same value once encoded
    key = tmp_path / "s.key"
    key.write_bytes(new_secret())
    main(
        [
            "encode",
            str(left),
            "--map",
            SCHOOL_MAP,
            "--secret-file",
            str(key),
            "--out",
            str(tmp_path / "l.kfe"),
        ]
    )
    main(
        [
            "encode",
            str(tmp_path / "r.csv"),
            "--map",
            SCHOOL_MAP,
            "--secret-file",
            str(key),
            "--out",
            str(tmp_path / "r.kfe"),
        ]
    )
    left_sex = EncodedTable.read(tmp_path / "l.kfe").filters["sex"]
    right_sex = EncodedTable.read(tmp_path / "r.kfe").filters["sex"]
    assert (left_sex[:6] == right_sex[:6]).all()


def test_missing_values_are_not_errors(tmp_path: Path) -> None:
    left = [dict(r, school_ref=r["ref"], sex="", address="") for r in LEFT_PEOPLE]
    right = [dict(r, school_ref=r["ref"], dob="", postcode="") for r in RIGHT_PEOPLE]
    out = tmp_path / "links.csv"
    assert _link(_write(tmp_path / "l.csv", left), _write(tmp_path / "r.csv", right), out) == 0
    assert _read(out)


def _fails(capsys: pytest.CaptureFixture[str], status: int, *expected: str) -> None:
    assert status != 0
    error = capsys.readouterr().err
    assert error.startswith("kinfold: error: ")
    assert len(error.strip().splitlines()) == 1
    for text in expected:
        assert text in error


def test_a_missing_mapped_column_is_named(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _write(
        tmp_path / "broken.csv", _school(RIGHT_PEOPLE), [h for h in HEADER if h != "dob"]
    )
    out = tmp_path / "links.csv"
    _fails(capsys, _link(files[0], broken, out), "broken.csv", "row 1", "'dob'", "has no column")
    assert not out.exists()


def test_an_unparseable_date_is_named_with_its_row(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _school(RIGHT_PEOPLE)
    rows[2]["dob"] = "30/02/2009"
    broken = _write(tmp_path / "broken.csv", rows)
    out = tmp_path / "links.csv"
    _fails(capsys, _link(files[0], broken, out), "broken.csv", "row 4", "'dob'", "30/02/2009")
    assert not out.exists()


def test_bad_rows_are_skipped_only_when_asked_and_then_reported(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _school(RIGHT_PEOPLE)
    rows[2]["dob"] = "not a date"
    broken = _write(tmp_path / "broken.csv", rows)
    out = tmp_path / "links.csv"
    assert _link(files[0], broken, out, "--skip-bad-rows") == 0
    captured = capsys.readouterr()
    assert "skipped 1 rows" in captured.err
    assert "broken.csv, row 4, column 'dob'" in captured.err
    linked = {r["right_id"] for r in _read(out)}
    assert "R3" not in linked
    assert "R1" in linked


def test_a_file_in_the_wrong_encoding_is_named_with_its_row(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "latin1.csv"
    text = "school_ref,forename,surname,dob,sex,address,postcode\n"
    text += "X1,Ann,Lee,1990-01-01,F,1 Road,NF1 1AA\nX2,Zoë,Müller,1988-08-08,F,2 Road,NF1 1AB\n"
    broken.write_bytes(text.encode("latin-1"))
    out = tmp_path / "links.csv"
    _fails(capsys, _link(files[0], broken, out), "latin1.csv", "row 3", "not utf-8")
    assert _link(files[0], broken, out, "--encoding", "latin-1") == 0


@pytest.mark.parametrize(
    ("description", "content", "expected"),
    [
        ("empty file", b"", "is empty"),
        ("header only", b"school_ref,forename,surname,dob,sex,address,postcode\n", "no data rows"),
        ("blank lines only", b"\n\n", "is empty"),
    ],
)
def test_an_empty_file_gets_a_clear_message(
    files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    description: str,
    content: bytes,
    expected: str,
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(content)
    _fails(capsys, _link(files[0], empty, tmp_path / "links.csv"), "empty.csv", expected)


def test_a_missing_file_is_named(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fails(
        capsys, _link(files[0], tmp_path / "nope.csv", tmp_path / "l.csv"), "nope.csv", "not found"
    )


def test_a_bad_map_names_the_option(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "link",
            "--left",
            str(files[0]),
            "--left-map",
            "forename=forename",
            "--right",
            str(files[1]),
            "--right-map",
            SCHOOL_MAP,
            "--out",
            str(tmp_path / "l.csv"),
        ]
    )
    _fails(capsys, status, "--left-map", "'forename' is not an identity field")


def test_encode_then_link_encoded_at_the_hub(files: tuple[Path, Path], tmp_path: Path) -> None:
    secret = tmp_path / "secret.key"
    secret.write_bytes(new_secret())
    for name, path in (("a", files[0]), ("b", files[1])):
        status = main(
            [
                "encode",
                str(path),
                "--map",
                SCHOOL_MAP,
                "--secret-file",
                str(secret),
                "--out",
                str(tmp_path / f"{name}.kfe"),
                "--source",
                name,
            ]
        )
        assert status == 0
    assert EncodedTable.read(tmp_path / "a.kfe").source == "a"
    for name in ("a", "b"):  # nothing readable: no name from the extract appears in the file
        data = (tmp_path / f"{name}.kfe").read_bytes()
        assert b"Katherine" not in data
        assert b"Mill Lane" not in data
    out = tmp_path / "links.csv"
    status = main(
        [
            "link-encoded",
            "--left",
            str(tmp_path / "a.kfe"),
            "--right",
            str(tmp_path / "b.kfe"),
            "--out",
            str(out),
            "--one-to-one",
        ]
    )
    assert status == 0
    assert {(r["left_id"], r["right_id"]) for r in _read(out)} == {
        (f"L{n}", f"R{n}") for n in range(1, 7)
    }


def test_link_encoded_refuses_files_made_with_different_secrets(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, path in (("a", files[0]), ("b", files[1])):
        key = tmp_path / f"{name}.key"
        key.write_bytes(new_secret())
        main(
            [
                "encode",
                str(path),
                "--map",
                SCHOOL_MAP,
                "--secret-file",
                str(key),
                "--out",
                str(tmp_path / f"{name}.kfe"),
            ]
        )
    capsys.readouterr()
    status = main(
        [
            "link-encoded",
            "--left",
            str(tmp_path / "a.kfe"),
            "--right",
            str(tmp_path / "b.kfe"),
            "--out",
            str(tmp_path / "l.csv"),
        ]
    )
    _fails(capsys, status, "different linkage secrets")


def test_dedupe_writes_id_and_cluster(tmp_path: Path) -> None:
    rows = _school(LEFT_PEOPLE) + [
        dict(r, school_ref=r["ref"].replace("R", "D")) for r in _school(RIGHT_PEOPLE)
    ]
    out = tmp_path / "clusters.csv"
    assert (
        main(
            [
                "dedupe",
                str(_write(tmp_path / "in.csv", rows)),
                "--map",
                SCHOOL_MAP,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with out.open(newline="") as handle:
        assert next(csv.reader(handle)) == ["id", "cluster"]
    cluster = {r["id"]: r["cluster"] for r in _read(out)}
    assert len(cluster) == len(rows)
    assert cluster["D1"] == cluster["L1"] == "L1"
    assert cluster["D7"] == "D7"


def test_dedupe_takes_an_encoded_file_too(files: tuple[Path, Path], tmp_path: Path) -> None:
    key = tmp_path / "s.key"
    key.write_bytes(new_secret())
    main(
        [
            "encode",
            str(files[0]),
            "--map",
            SCHOOL_MAP,
            "--secret-file",
            str(key),
            "--out",
            str(tmp_path / "a.kfe"),
        ]
    )
    assert main(["dedupe", str(tmp_path / "a.kfe"), "--out", str(tmp_path / "c.csv")]) == 0
    assert len(_read(tmp_path / "c.csv")) == len(LEFT_PEOPLE)


def test_spreadsheets_are_read_with_their_date_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in _school(RIGHT_PEOPLE):
        values: list[str | date] = [row[h] for h in HEADER]
        values[3] = date.fromisoformat(row["dob"])  # a real date cell, not text
        sheet.append(values)
    book.save(tmp_path / "b.xlsx")
    left = _write(tmp_path / "a.csv", _school(LEFT_PEOPLE))
    out = tmp_path / "links.csv"
    assert _link(left, tmp_path / "b.xlsx", out) == 0
    assert len(_read(out)) == 6


@pytest.mark.parametrize("stop_after", [None, 1, 0])
def test_a_spreadsheet_is_closed_once_read_or_when_reading_stops(
    tmp_path: Path, stop_after: int | None
) -> None:
    """A read-only workbook holds its file open until closed: left to the garbage collector, the
    file stays open and the warning surfaces in whatever runs next."""
    import itertools

    from openpyxl import Workbook

    from kinfold.linkage import ColumnMap, read_rows

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in _school(RIGHT_PEOPLE):
        sheet.append([row[h] for h in HEADER])
    path = tmp_path / "b.xlsx"
    book.save(path)

    def open_here() -> int:
        fds = Path("/proc/self/fd")
        return sum(1 for fd in os.listdir(fds) if _points_to(fds / fd, path))

    rows = read_rows(path, ColumnMap.parse("given_name=forename,surname=surname,id=school_ref"))
    if stop_after is None:
        assert len(list(rows)) == len(RIGHT_PEOPLE)
    else:
        assert len(list(itertools.islice(rows, stop_after))) == stop_after
        rows.close()  # type: ignore[attr-defined]
    assert open_here() == 0


def _points_to(fd: Path, path: Path) -> bool:
    try:
        return Path(os.readlink(fd)) == path
    except OSError:  # closed since it was listed
        return False


@pytest.mark.parametrize("command", ["encode", "link", "link-encoded", "dedupe"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert "usage: kinfold" in capsys.readouterr().out


@pytest.mark.parametrize("together", [True, False])
def test_link_finds_the_same_links_with_its_files_encoded_side_by_side_or_in_turn(
    files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, together: bool
) -> None:
    from kinfold.linkage import cli as linkage_cli

    chosen: list[bool] = []

    def decide(size: int, workers: int) -> bool:
        chosen.append(together)
        return together

    monkeypatch.setattr(linkage_cli, "side_by_side", decide)
    out = tmp_path / "links.csv"
    assert _link(*files, out) == 0
    assert chosen == [together]
    assert {(r["left_id"], r["right_id"]) for r in _read(out)} == {
        (f"L{n}", f"R{n}") for n in range(1, 7)
    }


def test_side_by_side_only_when_it_pays(monkeypatch: pytest.MonkeyPatch) -> None:
    from kinfold.linkage import cli as linkage_cli

    small, medium, large = 1_000, 500_000, 9_000_000
    monkeypatch.setattr(linkage_cli.os, "getloadavg", lambda: (0.2, 0.5, 0.5))
    assert not linkage_cli.side_by_side(small, 2)
    assert linkage_cli.side_by_side(medium, 2)  # a core is idle
    assert not linkage_cli.side_by_side(medium, 1)
    monkeypatch.setattr(linkage_cli.os, "getloadavg", lambda: (1.6, 1.5, 1.5))
    assert not linkage_cli.side_by_side(medium, 2)  # the other core is busy
    assert linkage_cli.side_by_side(large, 2)  # big enough to pay even so
    assert not linkage_cli.side_by_side(large, 1)
