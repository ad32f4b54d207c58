"""Migration m003_h3_scale: an archive of the previous schema upgrades in place; UNIQUE keys;
the canned queries and facets use indexes; conflicting cells become a failed check."""

from __future__ import annotations

import logging
import random
import re
import sqlite3

import pytest
import yaml
from sqlite_utils import Database

from postprocess.extract.figures import CONFLICT_RULE, one_cell_per_key
from postprocess.extract.model import Cell
from postprocess.publish import agency
from postprocess.publish.serve import METADATA
from postprocess.storage import db as archive_db
from postprocess.storage import search

# What postprocess/search.py created outside the migrations before m003 (verbatim DDL).
OLD_SEARCH_DDL = [
    "CREATE VIRTUAL TABLE [reports_fts] USING fts5(title, agency, body, content='', "
    "tokenize='unicode61 remove_diacritics 2')",
    "INSERT INTO [reports_fts] ([reports_fts], rank) VALUES ('rank', 'bm25(10.0, 5.0, 1.0)')",
    "CREATE VIEW [report_search] AS SELECT r.id, f.rank AS rank, r.[title], r.[agency], "
    "r.[province], r.[city], r.[level], r.[year], r.[kind], r.[format], r.[published], r.[text], "
    "r.[url], r.[document_url], f.[reports_fts] AS [search_index] "
    "FROM [reports_fts] f JOIN reports r ON r.id = f.rowid",
]
REPORTS = [
    {
        "id": 10,
        "title": "甲区2022年政府信息公开工作年度报告",
        "agency": "甲区人民政府",
        "year": 2022,
        "kind": "annual_report",
        "format": "2021",
        "text": "本年度收到行政复议申请3件。",
    },
    {
        "id": 11,
        "title": "乙县2021年政府信息公开工作年度报告",
        "agency": "乙县人民政府",
        "year": 2021,
        "kind": "annual_report",
        "format": "2021",
        "text": "本年度无诉讼。",
    },
]
NEW = "一、本年新收政府信息公开申请数量"
# (id, report_id, section, row_key, col_key, value, raw, unit, row_label, col_label, known)
OLD_CELLS = [
    (1, 10, "requests", "new", "total", 33.0, "33", "件", NEW, "总计", 1),
    (2, 10, "requests", "new", "natural_person", 30.0, "30", None, NEW, "自然人", 1),
    (3, 10, "requests", "new", "total", 34.0, "34", "件", NEW, "总计", 1),
    (4, 11, "requests", "new", "total", 5.0, "5", "件", NEW, "总计", 1),
    (5, 11, "appeals", "unknown:其他", "total", 0.0, "—", None, "其他", "总计", 0),
]
CELL_COLUMNS = (
    "id, report_id, section, row_key, col_key, value, raw, unit, row_label, col_label, known"
)


def _previous_schema_archive(path) -> None:
    """An archive.db as the code before m003 left it, duplicates included."""
    db = Database(str(path))
    archive_db.migrations.apply(db, stop_before="m003_h3_scale")
    with db.conn:
        for report in REPORTS:
            db["reports"].insert(report)
        db.conn.executemany(
            f"INSERT INTO cells ({CELL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            OLD_CELLS,
        )
        db.conn.executemany(
            "INSERT INTO stats (report_id, key, value, raw, approx, origin, cell_id, evidence) "
            "VALUES (?, ?, ?, ?, 0, 'cell', ?, 'requests.new.total')",
            [(10, "requests_new", 33.0, "33", 1), (11, "requests_new", 5.0, "5", 4)],
        )
        db.conn.executemany(
            "INSERT INTO checks (report_id, rule, ok, detail) VALUES (?, ?, ?, ?)",
            [
                (10, "requests_balance", 0, "33 != 34"),
                (10, "requests_balance", 0, "33 != 34"),
                (11, "requests_balance", 1, "5 = 5"),
            ],
        )
    for sql in OLD_SEARCH_DDL:
        db.execute(sql)
    db.conn.executemany(
        "INSERT INTO reports_fts (rowid, title, agency, body) VALUES (?, ?, ?, ?)",
        [
            (r["id"], search.ngram_text(r["title"]), search.ngram_text(r["agency"]),
             search.ngram_text(r["text"]))
            for r in REPORTS
        ],
    )  # fmt: skip
    db.conn.commit()
    db.close()


@pytest.fixture
def upgraded(tmp_path, caplog):
    path = tmp_path / "archive.db"
    _previous_schema_archive(path)
    with caplog.at_level(logging.WARNING, logger="postprocess.storage.db"):
        db = archive_db.open_db(path)
    yield db, caplog.messages
    db.close()


def test_previous_schema_archive_upgrades_in_place(upgraded):
    db, warnings = upgraded
    applied = [r["name"] for r in db.query("SELECT name FROM _sqlite_migrations")]
    assert "m003_h3_scale" in applied
    # cells reads as before; the conflicting repeat (id 3) is dropped, and said so
    assert [tuple(r) for r in db.execute(f"SELECT {CELL_COLUMNS} FROM cells ORDER BY id")] == [
        OLD_CELLS[0],
        OLD_CELLS[1],
        OLD_CELLS[3],
        OLD_CELLS[4],
    ]
    assert any("1 duplicate cells rows removed" in m for m in warnings)
    assert any("1 duplicate checks rows removed" in m for m in warnings)
    # every figure still points at its cell
    assert list(
        db.execute(
            "SELECT s.report_id, c.raw, c.section || '.' || c.row_key || '.' || c.col_key "
            "FROM stats s JOIN cells c ON c.id = s.cell_id ORDER BY s.id"
        )
    ) == [(10, "33", "requests.new.total"), (11, "5", "requests.new.total")]
    assert list(db.execute("SELECT report_id, rule, ok FROM checks ORDER BY id")) == [
        (10, "requests_balance", 0),
        (11, "requests_balance", 1),
    ]
    # the old index is made again body first (m_search_body_first), and finds what it found
    assert search.index_columns(db.conn) == search.FTS_COLUMNS == ("body", "title", "agency")
    assert [r["id"] for r in search.search_reports(db, "复议")] == [10]
    assert [r["id"] for r in search.search_reports(db, "乙县")] == [11]
    assert db.execute("SELECT type FROM sqlite_master WHERE name = 'report_search'").fetchone() == (
        "view",
    )
    labels = {r[0] for r in db.execute("SELECT label FROM cell_labels")}
    assert labels == {"件", "一、本年新收政府信息公开申请数量", "总计", "自然人", "其他"}
    assert db.execute("SELECT count(*) FROM cell_keys").fetchone() == (3,)


def test_unique_keys_refuse_a_second_cell_or_check(upgraded):
    db, _ = upgraded
    cell = {
        "section": "requests",
        "row_key": "new",
        "col_key": "total",
        "value": 9.0,
        "raw": "9",
        "unit": None,
        "row_label": "",
        "col_label": "",
        "known": True,
    }
    report = {"id": 12, "title": "丙", "text": ""}
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        with db.atomic():
            archive_db.write_report(db, report, [], [cell, {**cell, "raw": "8"}], [], [])
    check = {"rule": "requests_balance", "ok": True, "detail": ""}
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        with db.atomic():
            archive_db.write_report(db, report, [], [], [], [check, check])
    assert db.execute("SELECT count(*) FROM reports WHERE id = 12").fetchone() == (0,)


def test_fresh_archive_has_the_same_schema_as_an_upgraded_one(upgraded, tmp_path):
    db, _ = upgraded
    fresh = archive_db.open_db(tmp_path / "fresh.db")

    def schema(d):
        return sorted(
            (r[0], r[1], re.sub(r"\s+", " ", r[2] or ""))
            for r in d.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            )
        )

    assert schema(fresh) == schema(db)
    fresh.close()


BIG_TABLES = {"cell_values", "cells", "checks", "stats", "stat_values"}


def _aliases(sql: str) -> set[str]:
    """Names (and aliases) the query gives the big tables."""
    names = set()
    for m in re.finditer(r"\b(cell_values|cells|checks|stats)\b(?:\s+(?:as\s+)?(\w+))?", sql):
        names.add(m.group(1))
        if m.group(2) and m.group(2).lower() not in {"on", "where", "join", "group", "order"}:
            names.add(m.group(2))
    if "cells" in names:
        names.add("v")  # the view's own alias for cell_values
    if "stats" in names:
        names.add("s")  # the view's own alias for stat_values
    return names


def test_canned_queries_and_facets_do_not_scan_the_big_tables(upgraded):
    db, _ = upgraded
    conn = db.conn
    search.register_functions(conn)
    # the plugin's function the canned queries call (publish/agency.py)
    conn.create_function("nianbao_url_year", 1, agency.year_from_url, deterministic=True)
    queries = yaml.safe_load(METADATA.read_text(encoding="utf-8"))["databases"]["archive"][
        "queries"
    ]
    facet_sql = {
        "failed_check facet": "select c.rule as value, count(distinct c.report_id) as count "
        "from checks c where c.ok = 0 and c.report_id in (select id from reports where year = 1) "
        "group by c.rule",
        "failed_check filter": "select id from reports where id in "
        "(select report_id from checks where ok = 0 and rule = 'x')",
        "checks facet rule": "select rule, count(*) from checks group by rule",
        "checks facet ok": "select ok, count(*) from checks where rule = 'x' group by ok",
        "cells of a report": "select * from cells where report_id = 10",
        "cells of a key": "select * from cells where section = 'requests' and row_key = 'new' "
        "and col_key = 'total'",
        "stats of a key": "select * from stats where key = 'requests_new'",
    }
    plans = {}
    for name, sql in [*((n, q["sql"]) for n, q in queries.items()), *facet_sql.items()]:
        params = {p: "" for p in re.findall(r":(\w+)", sql)}
        plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
        names = _aliases(sql)
        plans[name] = [
            step
            for step in plan
            if (m := re.match(r"SCAN (\w+)", step))
            and m.group(1) in names | BIG_TABLES
            and "COVERING INDEX" not in step
            and "idx_checks_failed" not in step  # the failures only, not the table
        ]
    assert {name: scans for name, scans in plans.items() if scans} == {}


@pytest.mark.parametrize("column", ["province", "city", "level", "year", "kind", "format"])
def test_reports_facets_read_an_index_not_the_table(upgraded, column):
    db, _ = upgraded
    plan = [
        r[3]
        for r in db.execute(
            f"EXPLAIN QUERY PLAN select {column}, count(*) from reports group by {column}"
        )
    ]
    assert "COVERING INDEX" in plan[0], plan


def test_conflicting_repeats_of_a_cell_become_a_failed_check():
    first = Cell("requests", "new", "total", 33.0, "33")
    again = Cell("requests", "new", "total", 34.0, "34")
    other = Cell("requests", "new", "natural_person", 30.0, "30")
    cells, check = one_cell_per_key([first, other, again])
    assert cells == [first, other]
    assert check is not None
    assert (check.rule, check.ok) == (CONFLICT_RULE, False)
    assert check.detail == "requests.new.total: '33' kept, '34' also printed"
    assert one_cell_per_key([first, other]) == ([first, other], None)


def test_cell_method_is_stored_as_a_code_and_read_back_as_its_name(tmp_path):
    db = Database(str(tmp_path / "archive.db"))
    archive_db.migrations.apply(db, stop_before="m_cells_method_code")
    # an archive whose cells carry the method as text (m_cells_method) upgrades in place
    db.execute("INSERT INTO reports (id, text) VALUES (1, '')")
    db.conn.executemany(
        "INSERT INTO cell_keys (id, section, row_key, col_key) VALUES (?, 's', ?, 'c')",
        [(1, "r"), (2, "r2"), (3, "r3")],
    )
    db.conn.executemany(
        "INSERT INTO cell_values (id, report_id, key_id, value, raw, known, method) "
        "VALUES (?, 1, ?, 0, '0', 1, ?)",
        [(1, 1, "header"), (2, 2, "split"), (3, 3, None)],
    )
    db.conn.commit()
    archive_db.migrations.apply(db)
    cell = {"section": "s", "row_key": "r", "col_key": "c", "value": 1.0, "raw": "1"}
    cell |= {"unit": None, "row_label": None, "col_label": None, "known": True}
    for rid, method in ((2, "arithmetic"), (3, "header"), (4, "a future way")):
        with db.atomic():
            archive_db.write_report(
                db, {"id": rid, "text": ""}, [], [{**cell, "method": method}], [], []
            )
    assert list(db.execute("SELECT report_id, method FROM cells ORDER BY id")) == [
        (1, "header"),
        (1, "split"),
        (1, None),
        (2, "arithmetic"),
        (3, "header"),
        (4, "a future way"),
    ]
    stored = list(db.execute("SELECT method_code, method FROM cell_values ORDER BY id"))
    assert stored == [
        (0, None),
        (2, None),
        (None, None),
        (1, None),
        (0, None),
        (None, "a future way"),
    ]


TEXT = "一、概述\n本年度共受理申请12件。\n二、其他\n全年未收取费用。"
# (id, key, value, raw, origin, cell_id, evidence): every way a figure's evidence is kept
OLD_STATS = [
    (1, "requests_new", 12.0, "12件", "sentence", None, "本年度共受理申请12件。"),
    (2, "fees_yuan", 0.0, "未收取费用", "sentence", None, "未收取费用的申请人"),  # not in the text
    (3, "reviews", 3.0, "3", "cell", 1, "appeals.review.total"),
    (4, "lawsuits", 4.0, "1 + 3", "cell", None, "appeals.a.total + appeals.b.total"),
    (5, "requests_granted", 2.0, "2", "cell", 1, None),  # a cell but no evidence
    (6, "requests_other", 0.0, "0", "a new origin", None, ""),
    (7, "consultations", 5.0, "5", None, None, None),
    (8, "requests_unable", 1.0, "1", "cell", 1, "appeals.other.total"),  # not its cell's key
]


def test_stats_are_stored_compactly_and_read_back_exactly(tmp_path):
    db = Database(str(tmp_path / "archive.db"))
    archive_db.migrations.apply(db, stop_before="m_stats_compact")
    # an archive whose stats table holds the rows as the view shows them upgrades in place
    db.execute("INSERT INTO reports (id, text) VALUES (1, ?), (2, ?)", [TEXT, "甲\x00" + TEXT])
    db.execute(
        "INSERT INTO cell_keys (id, section, row_key, col_key) "
        "VALUES (1, 'appeals', 'review', 'total')"
    )
    db.execute(
        "INSERT INTO cell_values (id, report_id, key_id, value, raw) VALUES (1, 1, 1, 3, '3')"
    )
    db.conn.executemany(
        "INSERT INTO stats (id, report_id, key, value, raw, approx, origin, cell_id, evidence) "
        "VALUES (?, 1, ?, ?, ?, 0, ?, ?, ?)",
        OLD_STATS,
    )
    # a NUL before the sentence: SQLite's substr() would not find it, so it is kept as text
    db.execute(
        "INSERT INTO stats (id, report_id, key, value, raw, approx, origin, cell_id, evidence) "
        "VALUES (9, 2, 'requests_new', 12, '12件', 1, 'sentence', NULL, '本年度共受理申请12件。')"
    )
    db.conn.commit()
    before = list(db.execute("SELECT * FROM stats ORDER BY id"))
    archive_db.migrations.apply(db)
    assert db.execute("SELECT type FROM sqlite_master WHERE name = 'stats'").fetchone() == ("view",)
    assert list(db.execute("SELECT * FROM stats ORDER BY id")) == before
    stored = {
        r[0]: r[1:]
        for r in db.execute(
            "SELECT id, origin_code, origin, evidence_id IS NOT NULL, evidence_start, "
            "evidence_length FROM stat_values"
        )
    }
    assert stored[1] == (1, None, 0, TEXT.index("本年度"), len("本年度共受理申请12件。"))
    assert stored[3] == (0, None, 0, None, None)  # its cell's reference
    assert [stored[i][2] for i in (2, 4, 6, 8, 9)] == [1, 1, 1, 1, 1]  # as text
    assert stored[6][:2] == (None, "a new origin")
    # the writer stores the same rows the same way
    stats = [
        {"key": k, "value": v, "raw": raw, "approx": False, "origin": o, "evidence": e}
        for _, k, v, raw, o, _, e in OLD_STATS
    ]
    cell = {"section": "appeals", "row_key": "review", "col_key": "total", "value": 3.0}
    cell |= {"raw": "3", "unit": None, "row_label": None, "col_label": None, "known": True}
    with db.atomic():
        archive_db.write_report(db, {"id": 3, "text": TEXT}, [], [cell], stats, [])
    rows = list(
        db.execute("SELECT key, value, raw, origin, evidence FROM stats WHERE report_id = 3")
    )
    assert rows == [(k, v, raw, o, e) for _, k, v, raw, o, _, e in OLD_STATS]
    assert [r[0] for r in db.execute("SELECT cell_id FROM stats WHERE report_id = 3")] == [
        None, None, 2, None, None, None, None, None
    ]  # fmt: skip
    written = list(
        db.execute(
            "SELECT evidence_id IS NOT NULL, evidence_start, evidence_length FROM stat_values "
            "WHERE report_id = 3 ORDER BY id"
        )
    )
    assert written[0] == (0, TEXT.index("本年度"), len("本年度共受理申请12件。"))
    assert written[2] == (0, None, None)


# (value, raw): a raw that is the value's plain print is stored as NULL, any other as printed
RAWS = [
    (12.0, "12"),
    (12.0, "+12"),
    (12.0, "12.0"),
    (12.0, "12件"),
    (0.0, "0"),
    (0.0, "—"),
    (-3.0, "-3"),
    (9139.2, "9139.2"),
    (1e15, "1000000000000000"),  # beyond the plain prints: kept
    (999999999999999.0, "999999999999999"),
    (None, ""),
    (None, "/"),
    (7.0, "07"),
]


def test_cells_are_stored_compactly_and_read_back_exactly(tmp_path):
    db = Database(str(tmp_path / "archive.db"))
    archive_db.migrations.apply(db, stop_before="m_cells_compact")
    db.execute("INSERT INTO reports (id, text) VALUES (1, '')")
    db.conn.executemany(
        "INSERT INTO cell_keys (id, section, row_key, col_key) VALUES (?, 's', ?, 'c')",
        [(i, f"r{i}") for i in range(1, len(RAWS) + 1)],
    )
    db.conn.executemany(
        "INSERT INTO cell_labels (id, label) VALUES (?, ?)", [(1, "件"), (2, "行"), (3, "列")]
    )
    db.conn.executemany(
        "INSERT INTO cell_values (id, report_id, key_id, value, raw, unit_id, row_label_id, "
        "col_label_id, known, method_code) VALUES (?, 1, ?, ?, ?, ?, 2, ?, 1, 0)",
        [
            (i, i, value, raw, 1 if i % 2 else None, 3 if i % 3 else None)
            for i, (value, raw) in enumerate(RAWS, start=1)
        ],
    )
    db.conn.commit()
    before = list(db.execute("SELECT * FROM cells ORDER BY id"))
    archive_db.migrations.apply(db)
    assert list(db.execute("SELECT * FROM cells ORDER BY id")) == before
    stored = [r[0] for r in db.execute("SELECT raw FROM cell_values ORDER BY id")]
    plain = {0, 4, 6, 9}  # the indexes of RAWS printed plainly
    assert stored == [None if i in plain else raw for i, (_, raw) in enumerate(RAWS)]
    assert db.execute("SELECT count(*) FROM cell_prints").fetchone() == (4,)
    # the writer stores them the same way, and reads back every raw as printed
    cells = [
        {"section": "s", "row_key": f"r{i}", "col_key": "c", "value": value, "raw": raw}
        | {"unit": "件", "row_label": "行", "col_label": None, "known": True}
        for i, (value, raw) in enumerate(RAWS, start=1)
    ]
    with db.atomic():
        archive_db.write_report(db, {"id": 2, "text": ""}, [], cells, [], [])
    assert list(db.execute("SELECT value, raw FROM cells WHERE report_id = 2 ORDER BY id")) == [
        (value, raw) for value, raw in RAWS
    ]
    written = [r[0] for r in db.execute("SELECT raw FROM cell_values WHERE report_id = 2")]
    assert written == stored
    labels = db.execute("SELECT DISTINCT unit, row_label, col_label FROM cells WHERE report_id = 2")
    assert list(labels) == [("件", "行", None)]


def test_a_plain_print_read_back_is_the_writers_own(tmp_path):
    """The writer's test (_stored_raw, Python) and the view's print (CELL_RAW_SQL, SQLite) agree
    across magnitudes and signs, so a raw dropped as plain always reads back as it was."""
    db = archive_db.open_db(tmp_path / "archive.db")
    rng = random.Random(11)
    values = [0.0, -0.0, 1.0, -1.0, 2**53 - 1.0, 1e15 - 1, 1e15, -(1e15 - 1), 0.5, 1e-9, 3]
    values += [float(rng.randrange(-(10**k), 10**k)) for k in range(1, 17) for _ in range(20)]
    values += [rng.uniform(-1e6, 1e6) for _ in range(50)]
    cells = [
        {"section": "s", "row_key": f"r{i}", "col_key": "c", "value": value, "unit": None}
        | {"raw": printed, "row_label": "", "col_label": "", "known": True}
        for i, value in enumerate(values)
        for printed in [repr(value) if not float(value).is_integer() else str(int(value))]
    ]
    with db.atomic():
        archive_db.write_report(db, {"id": 1, "text": ""}, [], cells, [], [])
    read = list(db.execute("SELECT raw FROM cells ORDER BY id"))
    assert [r[0] for r in read] == [c["raw"] for c in cells]
    assert db.execute("SELECT count(*) FROM cell_values WHERE raw IS NULL").fetchone()[0] > 300
    db.close()
