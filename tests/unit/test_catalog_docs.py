"""The committed field-type reference is the catalog's own account of itself."""

from __future__ import annotations

from pathlib import Path

from generators.catalog import FIELD_TYPES
from generators.catalog_docs import render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "field-types.md"


def test_docs_field_types_md_matches_the_catalog() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), "run `make docs`"


def test_the_catalog_has_at_least_80_types_each_documented() -> None:
    assert len(FIELD_TYPES) >= 80
    assert all(entry.description and entry.example for entry in FIELD_TYPES.values())
