"""Search latency of the Chinese n-gram index: p50/p95 per term, on a given archive and on a
generated one of N reports (default 100,000, texts of realistic length).

    .venv/bin/python benchmarks/search_latency.py [--db archive.db] [--reports 100000] [--runs 20]

Times, per term:
- sql: the ranked search straight on SQLite (search.search_reports: the report_search view, first
  50 hits with snippets; bm25 when at most search.RANK_MAX reports match, else newest first);
- api: `GET /archive/reports.json?_search=TERM` through Datasette in process, as a journalist's
  client gets it (ranked page of 50 with snippets, total count, the 7 facets of the page);
- api lean: the same with `&_nofacet=1&_nocount=1`, the cheapest ranked page.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from archive_fixture import build_large_archive  # noqa: E402

from postprocess.storage import search  # noqa: E402

TERMS = [
    "复议",
    "诉讼",
    "收费",
    "过程性信息",
    "不予公开",
    "国家秘密",
    "政策解读",
    "依申请公开",
    "第三方合法权益",
    "政务公开",
    # rarer: at most search.RANK_MAX matches, ranked by bm25
    "洪泽区",
    "第1000局",
]
HITS = "select count(*) from reports_fts where reports_fts match nianbao_match(:q)"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


CPU: dict[str, list[float]] = {}


def _timed(fn, kind: str = "") -> float:
    """Wall milliseconds of fn(); its CPU milliseconds (all threads) go to CPU[kind]."""
    c, t = time.process_time(), time.perf_counter()
    fn()
    CPU.setdefault(kind, []).append((time.process_time() - c) * 1000)
    return (time.perf_counter() - t) * 1000


def bench(path: Path, runs: int) -> None:
    from postprocess.publish.serve import make_datasette

    conn = sqlite3.connect(path)
    search.register_functions(conn)
    n = conn.execute("select count(*) from reports").fetchone()[0]
    chars = conn.execute("select avg(length(text)) from reports").fetchone()[0]
    print(f"{path}: {n} reports, {chars:.0f} characters of text on average")
    ds = make_datasette(path)
    loop = asyncio.new_event_loop()
    name = path.stem

    def api(term: str, extra: str = "") -> None:
        q = urllib.parse.quote(term)
        r = loop.run_until_complete(ds.client.get(f"/{name}/reports.json?_search={q}{extra}"))
        assert r.status_code == 200, r.text[:300]

    kinds = ("sql", "api", "api lean")
    print(
        f"{'term':<10} {'hits':>7} {'order':>9}"
        + "".join(f" {k + ' p50':>13} {'p95':>7}" for k in kinds)
        + "  (ms)"
    )
    overall: dict[str, list[float]] = {k: [] for k in kinds}
    for term in TERMS:
        hits = conn.execute(HITS, {"q": term}).fetchone()[0]
        order = search.ranked_order(conn, search.fts_query(term))
        api(term)  # warm Datasette's caches (schema, metadata) once per term
        times: dict[str, list[float]] = {k: [] for k in kinds}
        for _ in range(runs):
            times["sql"].append(_timed(lambda t=term: search.search_reports(conn, t, 50), "sql"))
            times["api"].append(_timed(lambda t=term: api(t), "api"))
            times["api lean"].append(
                _timed(lambda t=term: api(t, "&_nofacet=1&_nocount=1"), "api lean")
            )
        line = f"{term:<10} {hits:>7} {order:>9}"
        for k in kinds:
            overall[k] += times[k]
            line += f" {statistics.median(times[k]):>13.1f} {pct(times[k], 95):>7.1f}"
        print(line)
    print(
        "wall, all terms: "
        + "; ".join(
            f"{k} p50 {statistics.median(v):.1f} ms, p95 {pct(v, 95):.1f} ms"
            for k, v in overall.items()
        )
    )
    print(
        "CPU, all terms: "
        + "; ".join(
            f"{k} p50 {statistics.median(CPU[k]):.1f} ms, p95 {pct(CPU[k], 95):.1f} ms"
            for k in kinds
        )
    )
    loop.close()
    conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="an existing archive.db to measure (e.g. the demo archive)")
    ap.add_argument("--reports", type=int, default=100_000, help="size of the generated archive")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", help="write the generated archive here instead of a tmp dir")
    args = ap.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
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
