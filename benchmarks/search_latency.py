"""Search latency of the Chinese n-gram index: p50/p95 per term, on a given archive and on a
generated one of N reports (default 100,000, texts of realistic length).

    .venv/bin/python benchmarks/search_latency.py [--db archive.db] [--reports 100000] [--runs 20]

Times the ranked search query the Datasette `search` canned query runs (FTS5 MATCH + bm25 +
snippets of the first 50 hits) and the plain `?_search=` filter (ids only).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from archive_fixture import build_large_archive  # noqa: E402

from postprocess import search  # noqa: E402

TERMS = ["复议", "诉讼", "收费", "过程性信息", "不予公开", "国家秘密", "政策解读", "依申请公开",
         "第三方合法权益", "政务公开"]
RANKED = """with hits as (select rowid as id, bm25(reports_fts, 10.0, 5.0, 1.0) as rank
              from reports_fts where reports_fts match nianbao_match(:q) order by rank limit 50)
            select r.id, nianbao_snippet(r.text, :q), hits.rank
            from hits join reports r on r.id = hits.id order by hits.rank"""
FILTER = """select count(*) from reports where id in
            (select rowid from reports_fts where reports_fts match escape_fts(:q))"""


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench(path: Path, runs: int) -> None:
    conn = sqlite3.connect(path)
    search.register_functions(conn)
    conn.create_function("escape_fts", 1, search.fts_query)
    n = conn.execute("select count(*) from reports").fetchone()[0]
    chars = conn.execute("select avg(length(text)) from reports").fetchone()[0]
    print(f"{path}: {n} reports, {chars:.0f} characters of text on average")
    print(f"{'term':<10} {'hits':>7} {'ranked p50':>11} {'p95':>8} {'filter p50':>11} {'p95':>8}  (ms)")
    all_ranked = []
    for term in TERMS:
        ranked, filt = [], []
        hits = conn.execute(FILTER, {"q": term}).fetchone()[0]
        for _ in range(runs):
            t = time.perf_counter()
            conn.execute(RANKED, {"q": term}).fetchall()
            ranked.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            conn.execute(FILTER, {"q": term}).fetchall()
            filt.append((time.perf_counter() - t) * 1000)
        all_ranked += ranked
        print(f"{term:<10} {hits:>7} {statistics.median(ranked):>11.1f} {pct(ranked, 95):>8.1f}"
              f" {statistics.median(filt):>11.1f} {pct(filt, 95):>8.1f}")
    print(f"all terms: ranked p50 {statistics.median(all_ranked):.1f} ms, "
          f"p95 {pct(all_ranked, 95):.1f} ms")
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="an existing archive.db to measure (e.g. the demo archive)")
    ap.add_argument("--reports", type=int, default=100_000, help="size of the generated archive")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", help="write the generated archive here instead of a tmp dir")
    args = ap.parse_args()
    if args.db:
        bench(Path(args.db), args.runs)
    if args.reports:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(args.keep or Path(tmp) / "archive.db")
            t = time.perf_counter()
            print(f"generating {args.reports} reports in {path}")
            build_large_archive(path, args.reports, echo=print)
            print(f"generated and indexed in {time.perf_counter() - t:.0f} s")
            bench(path, args.runs)


if __name__ == "__main__":
    main()
