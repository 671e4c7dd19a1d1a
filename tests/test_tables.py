"""The project's table helpers: CSV written atomically, Markdown and terminal tables."""

from __future__ import annotations

import csv

import pandas as pd

from paretonas.tables import markdown, text, write_csv


def test_write_csv_round_trips_and_leaves_no_temp_file(tmp_path):
    frame = pd.DataFrame(
        {
            "trial": pd.array([3, None], dtype="Int64"),
            "f1": [0.1 + 0.2, float("nan")],
            "why": ["best, by far", None],
        }
    )
    path = write_csv(frame, tmp_path / "out" / "t.csv")
    assert path.read_bytes() == b'trial,f1,why\n3,0.30000000000000004,"best, by far"\n,,\n'
    rows = list(csv.DictReader(path.open()))
    assert rows[0] == {"trial": "3", "f1": "0.30000000000000004", "why": "best, by far"}
    assert rows[1] == {"trial": "", "f1": "", "why": ""}
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]


def test_markdown_aligns_numbers_right_and_escapes_cells():
    frame = pd.DataFrame({"rank": ["1", "2"], "why": ["a | b", "two\nlines"]})
    assert markdown(frame, left=["why"]).splitlines() == [
        "| rank | why |",
        "|---:|---|",
        "| 1 | a \\| b |",
        "| 2 | two lines |",
    ]


def test_text_says_when_a_table_is_empty():
    assert text(pd.DataFrame({"a": []}), "(nothing)") == "(nothing)"
    lines = text(pd.DataFrame({"trial": [7, 12], "f1": ["0.9000", "0.8500"]})).splitlines()
    assert lines[0].split() == ["trial", "f1"] and lines[2].split() == ["12", "0.8500"]
