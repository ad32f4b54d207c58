"""Load test of `nianbao serve --public`: concurrent searches, facets and JSON pages.

    .venv/bin/python benchmarks/serve_load.py [--db archive.db] [--reports 2000]
        [--requests 600] [--concurrency 8] [--hostile]

Starts the real server (uvicorn, public mode, memory ceiling) in a subprocess on 127.0.0.1 over
the given archive, or over a generated one of N reports, then sends a bounded number of requests
from `--concurrency` client threads, round-robin over a fixed mix. Prints p50/p95/max per kind of
request, errors, and requests per second. `--hostile` adds one 2M-character report that matches
every search for 申请 公开, and those searches to the mix.
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from archive_fixture import build_large_archive  # noqa: E402

from postprocess.storage import search  # noqa: E402

TERMS = ["复议", "诉讼", "收费", "过程性信息", "不予公开", "政务公开", "依申请公开"]
PROVINCES = ["江苏省", "广东省", "山西省", "甘肃省"]


def q(value: str) -> str:
    return urllib.parse.quote(value)


def request_mix(name: str, hostile: bool) -> list[tuple[str, str]]:
    """(kind, path) pairs the clients cycle through."""
    mix: list[tuple[str, str]] = []
    for i, term in enumerate(TERMS):
        province = PROVINCES[i % len(PROVINCES)]
        mix += [
            ("search json", f"/{name}/reports.json?_search={q(term)}"),
            ("search html", f"/{name}/report_search?_search={q(term)}"),
            ("search canned", f"/{name}/search.json?q={q(term)}"),
            ("facets html", f"/{name}/reports?province={q(province)}"),
            ("facets json", f"/{name}/reports.json?_facet=year&province={q(province)}"),
            ("json page", f"/{name}/reports.json?_size=50&year={2010 + i}"),
            ("json page", f"/{name}/cells.json?report_id={i + 1}&_size=max"),
            ("json page", f"/{name}/reports/{i + 1}.json"),
            ("canned chart", f"/{name}/requests_per_province?year={2015 + i}"),
        ]
    if hostile:
        mix += [
            ("hostile search", f"/{name}/reports.json?_search={q('申请 公开')}&_size=5"),
            ("hostile search", f"/{name}/report_search?_search={q('申请 公开')}&_size=5"),
        ]
    return mix


def add_hostile_report(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO reports (id, title, agency, year, kind, text) VALUES (?, ?, ?, ?, ?, ?)",
            [10**9, "申请公开统计", "某某局", 2022, "annual_report", "申请公开" * 500_000],
        )
        search.index_reports(conn)
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int) -> subprocess.Popen:
    code = (
        "import sys; from postprocess.publish.serve import serve_archive; "
        "serve_archive(sys.argv[1], port=int(sys.argv[2]), public=True)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(db), str(port)], cwd=REPO)
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/{db.stem}.json", timeout=5)
            return proc
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("the server did not start") from None
            time.sleep(0.2)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_load(base: str, mix: list[tuple[str, str]], total: int, concurrency: int) -> dict:
    jobs = itertools.islice(itertools.cycle(mix), total)
    lock = threading.Lock()
    times: dict[str, list[float]] = {}
    errors: dict[str, list[str]] = {}

    def worker() -> None:
        while True:
            with lock:
                job = next(jobs, None)
            if job is None:
                return
            kind, path = job
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(base + path, timeout=60) as r:
                    r.read()
                    ok = r.status == 200
                    why = f"HTTP {r.status}"
            except (urllib.error.URLError, OSError) as exc:
                ok, why = False, f"{type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                times.setdefault(kind, []).append(elapsed)
                if not ok:
                    errors.setdefault(kind, []).append(f"{path}: {why}")

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"seconds": time.perf_counter() - start, "times": times, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, help="archive to serve (default: generate one)")
    parser.add_argument("--reports", type=int, default=2000, help="reports to generate")
    parser.add_argument("--requests", type=int, default=600, help="total requests (bounded)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--hostile", action="store_true", help="add a pathological report")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    print("$ " + " ".join([Path(sys.executable).name, *sys.argv]))
    with tempfile.TemporaryDirectory() as tmp:
        if args.db:
            db = args.db
            if args.hostile:
                db = Path(tmp) / "archive.db"
                db.write_bytes(args.db.read_bytes())
        else:
            db = Path(tmp) / "archive.db"
            print(f"generating {args.reports} reports ...")
            build_large_archive(db, args.reports)
        if args.hostile:
            add_hostile_report(db)
        port = free_port()
        proc = start_server(db, port)
        try:
            result = run_load(
                f"http://127.0.0.1:{port}",
                request_mix(db.stem, args.hostile),
                args.requests,
                args.concurrency,
            )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    times, errors = result["times"], result["errors"]
    done = sum(len(v) for v in times.values())
    print(
        f"{done} requests, {args.concurrency} clients, {result['seconds']:.1f} s, "
        f"{done / result['seconds']:.1f} requests/s, "
        f"{sum(len(v) for v in errors.values())} errors"
    )
    print(f"{'kind':<16} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'errors':>7}")
    summary = {}
    for kind in sorted(times):
        values = times[kind]
        row = {
            "n": len(values),
            "p50": statistics.median(values),
            "p95": pct(values, 95),
            "max": max(values),
            "errors": len(errors.get(kind, [])),
        }
        summary[kind] = row
        print(
            f"{kind:<16} {row['n']:>5} {row['p50']:>8.0f} {row['p95']:>8.0f} {row['max']:>8.0f} "
            f"{row['errors']:>7}"
        )
    for kind, messages in errors.items():
        for message in messages[:3]:
            print(f"error {kind}: {message}")
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    if errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
