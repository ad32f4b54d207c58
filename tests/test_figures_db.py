"""Figures written to archive.db: stats linked to cells, failed_checks lists failures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "figures"))

from loader import expected, load_document, meta_for  # noqa: E402

from postprocess.extract.figures import extract_figures  # noqa: E402
from postprocess.storage.db import memory_db, write_report  # noqa: E402

PDF = Path(__file__).parent / "fixtures" / "figures" / "pdf" / "hongze-2023.pdf"


def test_failed_checks_view_lists_inconsistent_report():
    meta = meta_for(expected(PDF))
    figures = extract_figures(load_document(PDF), meta, None)
    db = memory_db()
    write_report(
        db,
        {
            "id": 1,
            "title": meta.title,
            "agency": meta.agency,
            "year": meta.year,
            "format": figures.format,
            "url": "http://example.test/r.pdf",
        },
        [],
        *figures.rows(),
    )
    rows = list(db.query("SELECT report_id, rule, detail FROM failed_checks"))
    assert [(r["report_id"], r["rule"]) for r in rows] == [(1, "appeals_totals")]
    assert "review: 11 vs 0" in rows[0]["detail"]
    linked = list(
        db.query(
            "SELECT s.value, c.row_key, c.col_key FROM stats s JOIN cells c ON c.id = s.cell_id "
            "WHERE s.key = 'requests_new'"
        )
    )
    assert linked == [{"value": 21.0, "row_key": "new", "col_key": "total"}]
