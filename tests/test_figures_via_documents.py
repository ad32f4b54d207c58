"""The same fixtures read through postprocess.extract.documents (as `nianbao build` reads them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "figures"))

from loader import expected, fixtures, meta_for  # noqa: E402

from postprocess.extract import documents  # noqa: E402
from postprocess.extract.figures import extract_figures  # noqa: E402

CONTENT_TYPES = {
    ".html": "text/html",  # no charset: the GB18030 page declares gb2312 in a <meta>
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".txt": "text/plain; charset=utf-8",
}


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.name)
def test_figures_through_read_document(path):
    doc = documents.read_document(
        path.read_bytes(), f"http://127.0.0.1/{path.name}", CONTENT_TYPES[path.suffix]
    )
    exp = expected(path)
    figures = extract_figures(doc, meta_for(exp), None)
    assert {f"{c.section}.{c.row_key}.{c.col_key}": c.value for c in figures.cells} == exp["cells"]
    assert {s.key: s.value for s in figures.stats} == exp["stats"]
