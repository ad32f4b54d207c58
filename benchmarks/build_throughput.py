"""Build throughput per document form and at scale, with peak memory and archive.db bytes/report.

    .venv/bin/python benchmarks/build_throughput.py [--forms html,pdf,docx] [--per-form 60]
        [--scale 1000,10000] [--jobs 2] [--workdir /tmp/nianbao-bench]

The corpus is the offline demo portal's own documents (crawler/demo: generated HTML reports, the
three real PDFs, the DOCX attachments), archived as a crawl would (WARC records + captures),
repeated under distinct URLs up to the wanted count. Each build runs `build_archive` in a fresh
process; peak memory is resource.getrusage's ru_maxrss of that process (the writer) and of its
parser processes (RUSAGE_CHILDREN: the largest one); CPU time is all of them together (the
wall time depends on what else the machine runs, the CPU time much less). Bytes per report =
archive.db size after the build / reports, and per table from SQLite's dbstat.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.demo.site import attachment_bytes, build_site, catalog  # noqa: E402
from postprocess.storage import db as archive_db  # noqa: E402
from postprocess.storage.warc import WarcStore  # noqa: E402

ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
SOURCE = {
    "id": "bench",
    "agency": "基准测试区人民政府",
    "division_code": "110101",
    "level": "county",
    "cms": "generic",
    "province": "北京市",
    "city": "北京市",
    "start_urls": ["http://bench.example/index.html"],
    "verified": 0,
    "demo": 1,
}


def documents(form: str) -> list[tuple[str, bytes, list[tuple[str, bytes, str]]]]:
    """(page url, page bytes, [(attachment url, bytes, content type)]) of one form."""
    site = build_site()
    out = []
    for entry in catalog():
        if entry.get("pages", 1) > 1:
            continue
        kinds = {a["type"] for a in entry.get("attachments", [])}
        if (form == "html" and kinds) or (form != "html" and form not in kinds):
            continue
        page = site[entry["host"]][entry["path"]].body
        files = [
            (
                f"http://{a.get('host', entry['host'])}{a['path']}",
                attachment_bytes(a["source"]),
                ATTACHMENT_TYPES[a["type"]],
            )
            for a in entry.get("attachments", [])
            if a["type"] in ATTACHMENT_TYPES
        ]
        out.append((f"http://{entry['host']}{entry['path']}", page, files))
    return out


def make_archive(root: Path, forms: list[str], count: int) -> Path:
    """An archive of `count` report pages cycling through the documents of `forms`."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    docs = [d for form in forms for d in documents(form)]
    db = archive_db.open_db(root / "archive.db")
    archive_db.upsert_sources(db, [SOURCE])
    crawl = archive_db.start_crawl(db, ["bench"])
    store = WarcStore(root / "data", "bench")
    rows = []
    next_id = 1

    def capture(url, body, ctype, role, parent):
        nonlocal next_id
        stored = store.write_response(url, 200, "OK", [("Content-Type", ctype)], body)
        rows.append(
            (next_id, crawl, "bench", url, "GET", "2025-01-01T00:00:00Z", 200, ctype,
             stored.sha256, stored.size, stored.warc_file, stored.record_id, stored.offset,
             role, parent, 0)
        )  # fmt: skip
        next_id += 1
        return next_id - 1

    for n in range(count):
        url, page, files = docs[n % len(docs)]
        pid = capture(f"{url}?copy={n}", page, "text/html; charset=utf-8", "report", None)
        for furl, body, ctype in files:
            capture(f"{furl}?copy={n}", body, ctype, "attachment", pid)
    store.close()
    with db.conn:
        db.conn.executemany(
            "INSERT INTO captures (id, crawl_id, source_id, url, method, fetched_at, status, "
            "content_type, sha256, size, warc_file, warc_record_id, warc_offset, role, "
            "parent_capture_id, blocked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.close()
    return root


RUN_BUILD = """
import json, resource, sys, time
from postprocess.build import build_archive
t = time.perf_counter()
result = build_archive(sys.argv[1], sys.argv[2], echo=lambda _: None, jobs=int(sys.argv[3]))
seconds = time.perf_counter() - t
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
print(json.dumps({"seconds": seconds, "reports": result.reports, "errors": result.errors,
                  "writer_mb": me.ru_maxrss / 1024, "parser_mb": kids.ru_maxrss / 1024,
                  "cpu_seconds": cpu}))
"""


def run_build(root: Path, jobs: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", RUN_BUILD, str(root / "archive.db"), str(root / "data"), str(jobs)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    path = root / "archive.db"
    figures["db_bytes"] = path.stat().st_size
    conn = sqlite3.connect(path)
    figures["tables_kb"] = {
        name: round(size / 1024)
        for name, size in conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 8"
        )
    }
    conn.close()
    return figures


def report(label: str, count: int, f: dict) -> None:
    per = f["db_bytes"] / max(f["reports"], 1)
    print(
        f"{label:>12} {f['reports']:>7} reports {f['seconds']:8.1f} s "
        f"{f['reports'] / f['seconds']:7.1f} reports/s {1000 * f['seconds'] / f['reports']:7.1f} "
        f"ms/report ({1000 * f['cpu_seconds'] / f['reports']:6.1f} ms CPU)  "
        f"peak writer {f['writer_mb']:4.0f} MB, parser {f['parser_mb']:4.0f} MB  "
        f"archive.db {per / 1024:5.1f} KB/report"
    )
    print(f"{'':>12} largest tables (KB): {f['tables_kb']}")


def pdf_open_once(runs: int) -> None:
    """read_document on each demo PDF (one pdfplumber open for text and tables) against the
    former way: text from one open, tables from a second."""
    import io

    import pdfplumber

    from postprocess.extract.documents import read_document
    from postprocess.extract.grids import pdf_tables

    for path in sorted((REPO / "crawler" / "demo" / "files").glob("*.pdf")):
        body = path.read_bytes()
        once, twice = [], []
        for _ in range(runs):
            t = time.perf_counter()
            read_document(body, path.name, "application/pdf")
            once.append(time.perf_counter() - t)
            t = time.perf_counter()
            with pdfplumber.open(io.BytesIO(body)) as pdf:
                for page in pdf.pages:
                    page.extract_text_lines()
            pdf_tables(body)
            twice.append(time.perf_counter() - t)
        print(
            f"{path.name:>18}: opened once {1000 * min(once):5.0f} ms, "
            f"text and tables opened separately {1000 * min(twice):5.0f} ms (best of {runs})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", default="html,pdf,docx")
    parser.add_argument("--per-form", type=int, default=60)
    parser.add_argument("--scale", default="1000,10000", help="report counts, '' for none")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/nianbao-bench"))
    parser.add_argument("--pdf-runs", type=int, default=3, help="0 to skip the PDF comparison")
    args = parser.parse_args()
    print("command:", " ".join([Path(sys.executable).name, *sys.argv]))
    if args.pdf_runs:
        pdf_open_once(args.pdf_runs)
    for form in [f for f in args.forms.split(",") if f]:
        root = make_archive(args.workdir / form, [form], args.per_form)
        report(form, args.per_form, run_build(root, args.jobs))
    for count in [int(c) for c in args.scale.split(",") if c]:
        t = time.perf_counter()
        root = make_archive(args.workdir / f"scale-{count}", ["html"], count)
        print(f"(archive of {count} HTML report pages written in {time.perf_counter() - t:.0f} s)")
        report(f"{count} html", count, run_build(root, args.jobs))
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
