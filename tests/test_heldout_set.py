"""The held-out accuracy set (benchmarks/heldout) is well-formed.

These tests check the set itself -- bytes present, expected values in canonical keys,
provenance recorded, nothing shared with the regression fixtures. They deliberately do not
run the extractor: the held-out set measures accuracy (benchmarks/accuracy.py) and its
figures are expected to move as the extractor improves.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "benchmarks" / "heldout"
FOLDERS = sorted(p for p in HELDOUT.iterdir() if p.is_dir())

FORMATS = {"2019", "2021", "narrative"}
COVERAGES = {"whole", "excerpt"}
EXCERPT_PROVENANCE = ("archived_url", "corpus", "query", "retrieved", "covers", "obtained")
KINDS = {"annual_report", "work_summary", "other"}
APPLICANT_COLS = {
    "natural_person",
    "commercial",
    "research",
    "public_interest",
    "legal_service",
    "other_org",
    "total",
}
REQUEST_ROWS = {
    "new",
    "carried_over",
    "granted",
    "partial",
    "denied_state_secret",
    "denied_prohibited_by_law",
    "denied_three_safety_one_stability",
    "denied_third_party",
    "denied_internal_affairs",
    "denied_process_info",
    "denied_enforcement_file",
    "denied_admin_inquiry",
    "unable_not_held",
    "unable_needs_creation",
    "unable_unclear",
    "rejected_petition",
    "rejected_repeat",
    "rejected_publication",
    "rejected_mass_repeat",
    "rejected_confirm_reissue",
    "other",
    "other_no_correction",
    "other_unpaid_fee",
    "other_other",
    "total_handled",
    "carried_forward",
}
PROACTIVE_ROWS = {
    "regulations",
    "normative_documents",
    "licensing",
    "other_services",
    "penalty",
    "coercion",
    "fees",
    "procurement",
}
PROACTIVE_COLS = {
    "new_made",
    "new_published",
    "total_published",
    "issued",
    "repealed",
    "in_force",
    "items_last_year",
    "items_change",
    "decisions",
    "amount_10k_yuan",
    "projects",
}
APPEAL_ROWS = {"review", "litigation_direct", "litigation_after_review"}
APPEAL_COLS = {"upheld", "corrected", "other", "pending", "total"}
STAT_KEYS = {
    "proactive_total",
    "requests_new",
    "requests_carried_over",
    "requests_handled",
    "requests_granted",
    "requests_partial",
    "requests_denied",
    "requests_unable",
    "requests_rejected",
    "requests_other",
    "requests_carried_forward",
    "reviews",
    "lawsuits",
    "consultations",
    "fees_yuan",
}
CHECK_RULES = {
    "requests_balance",
    "requests_total_column",
    "requests_handled_sum",
    "appeals_totals",
}
MAX_SET_BYTES = 20 * 1024 * 1024


def _expected(folder: Path) -> dict:
    return json.loads((folder / "expected.json").read_text(encoding="utf-8"))


def _valid_cell_key(key: str) -> bool:
    parts = key.split(".")
    if len(parts) != 3:
        return False
    section, row, col = parts
    if section == "requests":
        return row in REQUEST_ROWS and col in APPLICANT_COLS
    if section == "proactive":
        return row in PROACTIVE_ROWS and col in PROACTIVE_COLS
    if section == "appeals":
        return row in APPEAL_ROWS and col in APPEAL_COLS
    return False


def _norm(text: str) -> str:
    return "".join(text.split())


def test_set_has_enough_real_documents() -> None:
    reports = [f for f in FOLDERS if _expected(f).get("kind", "annual_report") == "annual_report"]
    assert len(reports) >= 45
    assert len({_expected(f)["provenance"]["agency"] for f in FOLDERS}) >= 30
    assert len({_expected(f)["metadata"]["year"] for f in FOLDERS}) >= 15
    assert {_expected(f)["format"] for f in FOLDERS} == FORMATS
    assert {_expected(f).get("coverage", "whole") for f in FOLDERS} == COVERAGES


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_document_bytes_and_expected_keys(folder: Path) -> None:
    exp = _expected(folder)
    assert exp["id"] == folder.name
    document = folder / exp["document"]
    assert document.is_file() and document.stat().st_size > 500
    assert exp["format"] in FORMATS
    kind = exp.get("kind", "annual_report")
    assert set(kind if isinstance(kind, list) else [kind]) <= KINDS
    assert exp["form"] and exp["traits"]
    coverage = exp.get("coverage", "whole")
    assert coverage in COVERAGES
    assert isinstance(exp.get("format_in_document", True), bool)
    meta = exp["metadata"]
    # a whole document states its title and agency; an excerpt may lack them (null: not scored)
    if coverage == "whole":
        assert meta["title"] and meta["agency"]
    assert 2008 <= meta["year"] <= 2030
    assert meta["published"] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", meta["published"])
    if meta["title"]:
        text = document.read_text(encoding="utf-8", errors="replace")
        assert _norm(meta["title"]) in _norm(text)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_cells_and_stats_use_canonical_keys(folder: Path) -> None:
    exp = _expected(folder)
    bad = [k for k in exp["cells"] if not _valid_cell_key(k)]
    assert not bad
    assert all(isinstance(v, int | float) for v in exp["cells"].values())
    assert set(exp["stats"]) <= STAT_KEYS
    assert set(exp.get("ambiguous", [])) <= set(exp["cells"])
    assert set(exp.get("inconsistent_rules", [])) <= CHECK_RULES
    if exp["format"] == "narrative":
        assert not exp["cells"]
    elif exp.get("coverage", "whole") == "excerpt":
        # only the cells the excerpt shows; a row cut by the excerpt end keeps its visible cells
        sections = {k.split(".")[0] for k in exp["cells"]}
        assert sections <= {"proactive", "requests", "appeals"}
        assert len([k for k in exp["cells"] if k.startswith("appeals.")]) in (0, 15)
    else:
        # tables typed in full: every 表三 row in all seven applicant columns, and 表四
        rows = {k.split(".")[1] for k in exp["cells"] if k.startswith("requests.")}
        assert {"new", "granted", "total_handled", "carried_forward"} <= rows
        assert len([k for k in exp["cells"] if k.startswith("requests.")]) == 7 * len(rows)
        assert len([k for k in exp["cells"] if k.startswith("appeals.")]) == 15


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_provenance_recorded(folder: Path) -> None:
    prov = _expected(folder)["provenance"]
    assert prov.get("repository") or prov.get("archived_url")
    if prov.get("repository"):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", prov["repository"])
        assert prov["path"] and re.fullmatch(r"[0-9a-f]{40}", prov["commit"])
    assert prov["agency"] and prov["year"] and prov["form"]
    assert prov["typed_by"]
    if _expected(folder).get("coverage") == "excerpt":
        assert all(prov.get(k) for k in EXCERPT_PROVENANCE)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", prov["retrieved"])
    text = (folder / "PROVENANCE.md").read_text(encoding="utf-8")
    assert prov.get("repository", prov.get("archived_url", "")) in text


def test_no_document_is_a_regression_fixture() -> None:
    """The held-out bytes must not also be the bytes the unit tests pin."""

    def digests(paths: list[Path]) -> set[str]:
        return {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}

    pinned = digests(list((ROOT / "tests" / "fixtures").rglob("*")))
    pinned |= digests(list((ROOT / "crawler" / "demo").rglob("*")))
    held = digests([f / _expected(f)["document"] for f in FOLDERS])
    assert not held & pinned


def test_set_stays_small() -> None:
    total = sum(p.stat().st_size for p in HELDOUT.rglob("*") if p.is_file())
    assert total < MAX_SET_BYTES
