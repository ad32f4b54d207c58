"""Metadata of real report openings (tests/fixtures/real_meta, see its PROVENANCE.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from postprocess.extract.documents import read_document
from postprocess.extract.metadata import read_metadata

CASES = sorted((Path(__file__).parent / "fixtures" / "real_meta").glob("*.txt"))


def test_real_meta_fixtures_present():
    assert len(CASES) == 4


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_real_report_opening_metadata(path):
    expected = json.loads(path.with_suffix(".expected.json").read_text(encoding="utf-8"))
    doc = read_document(path.read_bytes(), f"file:///real_meta/{path.name}", "text/plain")
    meta = read_metadata(doc)
    got = {key: getattr(meta, key) for key in expected}
    assert got == expected
