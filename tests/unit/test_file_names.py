"""The name a downloaded file gets: from the dataset's name, safe on any filesystem."""

from __future__ import annotations

import pytest

from api.jobs import file_name_for


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("users", "users.csv"),
        ("顧客データ 2026", "顧客データ_2026.csv"),
        ("../../etc/passwd", "etc_passwd.csv"),
        ("...", "dataset.csv"),
    ],
)
def test_file_names_keep_letters_of_any_script_and_drop_path_characters(
    name: str, expected: str
) -> None:
    assert file_name_for(name, "csv") == expected


def test_long_japanese_names_fit_a_filesystem_name_with_room_to_spare() -> None:
    name = file_name_for("テストデータ" * 40, "jsonl")
    assert len(name.encode()) <= 130
    assert name.startswith("テストデータ") and name.endswith(".jsonl")
    name.encode().decode()  # cut on a character boundary, never inside one
