"""`tdbuddy generate` and `tdbuddy preview` as a user runs them, and the shipped example specs."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generators.commands import progress_line
from generators.output import write_dataset
from generators.spec import parse_spec
from generators.tables import display_value, display_width, render_table

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))

SMALL: dict[str, Any] = {
    "name": "people",
    "rows": 300,
    "format": "csv",
    "locale": "ja_JP",
    "seed": 7,
    "fields": [
        {"name": "id", "type": "sequence"},
        {"name": "name", "type": "full_name"},
        {"name": "score", "type": "integer", "min": 0, "max": 100},
        {"name": "joined", "type": "date"},
    ],
}


def tdbuddy(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.json"
    path.write_text(json.dumps(SMALL), encoding="utf-8")
    return path


def test_generate_writes_the_file_the_engine_makes(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "people.csv"
    result = tdbuddy("generate", spec_file, "-o", out)
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0] == ["id", "name", "score", "joined"]
    assert [row[0] for row in rows[1:]] == [str(i) for i in range(1, 301)]
    expected = io.BytesIO()
    write_dataset(parse_spec(SMALL), expected)
    assert out.read_bytes() == expected.getvalue()
    # Not a terminal: no bar redrawn with \r, one summary line naming rows and seed.
    assert "\r" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "300 rows" in result.stderr and "seed 7" in result.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"people.json", "people.csv"}  # no .part


def test_generate_options_override_the_spec(spec_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "people.jsonl"
    result = tdbuddy(
        "generate", spec_file, "--rows", "25", "--format", "jsonl", "--seed", "8", "-o", out
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 25
    assert json.loads(lines[-1])["id"] == 25
    seed_7 = io.BytesIO()
    write_dataset(parse_spec({**SMALL, "rows": 25, "format": "jsonl"}), seed_7)
    assert out.read_bytes() != seed_7.getvalue()


def test_preview_prints_the_files_first_rows_aligned(spec_file: Path, tmp_path: Path) -> None:
    result = tdbuddy("preview", spec_file)
    assert result.returncode == 0, result.stderr
    header, _rule, *rows, footer = result.stdout.splitlines()
    assert header.split() == ["id", "name", "score", "joined"]
    assert len(rows) == 10
    assert "seed 7" in footer
    out = tmp_path / "people.csv"
    assert tdbuddy("generate", spec_file, "-o", out).returncode == 0
    first = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))[:10]
    # Names hold kanji (two columns each): the score column still starts at one place.
    score_at = display_width(header[: header.index("score")])
    for line, record in zip(rows, first, strict=True):
        assert record["name"] in line
        cut = next(i for i in range(len(line)) if display_width(line[:i]) >= score_at)
        assert line[cut:].split()[0] == record["score"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"fields": [{"name": "x", "type": "emial"}]}, "fields[0].type"),
        ({"rows": 0}, "rows"),
        ({"format": "xml"}, "format"),
    ],
)
@pytest.mark.parametrize("command", ["generate", "preview"])
def test_bad_spec_exits_2_naming_the_field(
    tmp_path: Path, change: dict[str, Any], field: str, command: str
) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(json.dumps({**SMALL, **change}), encoding="utf-8")
    out = tmp_path / "bad.csv"
    extra = ["-o", str(out)] if command == "generate" else []
    result = tdbuddy(command, spec, *extra)
    assert result.returncode == 2
    assert f"{field}:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_malformed_json_and_missing_file_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": ', encoding="utf-8")
    result = tdbuddy("preview", broken)
    assert result.returncode == 2 and "body: malformed JSON" in result.stderr
    missing = tdbuddy("generate", tmp_path / "nope.json", "-o", tmp_path / "x.csv")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_table_aligns_wide_combining_and_control_characters() -> None:
    lines = render_table(
        {
            "name": ["佐藤 健太", "Ada", "ｶﾀｶﾅ", "é"],  # full-width, ASCII, half-width kana, e + ́
            "note": ["ok", "two\nlines", "tab\there", "𩸽"],
            "n": [1, 22, 333, None],
        },
        right_aligned={"n": True},
    )
    note_at = display_width(lines[0][: lines[0].index("note")])
    for line in lines[2:]:
        cut = next(i for i in range(len(line)) if display_width(line[:i]) >= note_at)
        assert display_width(line[:cut]) == note_at, line
        assert line[cut - 2 : cut] == "  "
    assert "two\\nlines" in lines[3] and "\n" not in "".join(lines)
    assert lines[5].endswith("null")
    assert lines[2].endswith("  1") and lines[4].endswith("333")


def test_cells_are_cut_to_a_display_width() -> None:
    cell = display_value("あ" * 50, max_width=20)
    assert display_width(cell) <= 20 and cell.endswith("...")
    assert display_width("ｱｲｳ") == 3 and display_width("アイウ") == 6


def test_progress_line_shows_percent_rate_and_eta() -> None:
    line = progress_line(500_000, 1_000_000, 0.5, width=100)
    assert " 50%" in line and "500,000/1,000,000 rows" in line
    assert "1.0M rows/s" in line and "ETA 0:01" in line
    assert len(line) <= 100


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_spec_is_valid(path: Path) -> None:
    spec = parse_spec(path.read_bytes())
    assert spec.name and spec.fields


def test_examples_cover_the_main_uses() -> None:
    assert len(EXAMPLES) >= 5
    locales = {parse_spec(path.read_bytes()).locale for path in EXAMPLES}
    assert {"ja_JP", "en_US"} <= locales


def test_generate_lists_the_injected_edge_cases_when_asked(tmp_path: Path) -> None:
    spec = tmp_path / "qa.json"
    spec.write_text(json.dumps(SMALL | {"edge_case_rate": 0.1}))
    out, listing = tmp_path / "qa.csv", tmp_path / "qa.edge.jsonl"
    result = tdbuddy("generate", spec, "-o", out, "--edge-cases", listing)
    assert result.returncode == 0, result.stderr
    cells = [json.loads(line) for line in listing.read_text().splitlines()]
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    scores = [cell for cell in cells if cell["field"] == "score"]
    assert scores and all(rows[c["row"]]["score"] in {"-1", "0", "100", "101"} for c in scores)
    assert f"listed {len(cells):,} injected edge cases" in result.stderr
