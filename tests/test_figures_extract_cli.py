"""`nianbao extract`: bad input fails clearly; a real PDF prints its figures as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from postprocess.extract_cli import load_target

FIXTURES = Path(__file__).parent / "fixtures" / "figures"


def test_load_target_missing_file_is_oserror(tmp_path):
    with pytest.raises(OSError, match="no such file"):
        load_target(str(tmp_path / "missing.pdf"))


def test_load_target_unknown_type_is_valueerror(tmp_path):
    path = tmp_path / "report.xyz123"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="unsupported file type"):
        load_target(str(path))


def test_load_target_rejects_other_schemes():
    with pytest.raises(ValueError, match="unsupported URL scheme"):
        load_target("ftp://example.test/report.pdf")


def test_load_target_reads_pdf_with_type():
    body, url, ctype = load_target(str(FIXTURES / "pdf" / "hongze-2023.pdf"))
    assert body.startswith(b"%PDF") and ctype == "application/pdf" and url.startswith("file:")


def test_extract_json_on_real_pdf():
    from postprocess.cli import main

    result = CliRunner().invoke(
        main, ["extract", str(FIXTURES / "pdf" / "hongze-2023.pdf"), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {
        "title",
        "agency",
        "year",
        "published",
        "kind",
        "format",
        "cells",
        "stats",
        "checks",
    } <= set(data)
    assert data["format"] == "2021"
    cells = {(c["section"], c["row_key"], c["col_key"]): c["value"] for c in data["cells"]}
    assert cells[("requests", "new", "total")] == 21
    assert data["stats"]["requests_new"] == 21
    assert {"rule": "appeals_totals", "ok": False} == {
        k: v
        for k, v in next(c for c in data["checks"] if c["rule"] == "appeals_totals").items()
        if k != "detail"
    }


def test_extract_missing_file_exits_nonzero(tmp_path):
    from postprocess.cli import main

    result = CliRunner().invoke(main, ["extract", str(tmp_path / "nope.html")])
    assert result.exit_code == 1
    assert "no such file" in result.output
