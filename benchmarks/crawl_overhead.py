"""Crawl overhead: our crawler against a bare Scrapy spider on the same local portal.

A generated TRS-style column on 127.0.0.1 (list pages with createPageHTML paging, 20 report pages
each) is crawled twice with politeness off: by a bare Scrapy spider that only follows the links,
and by `python -m crawler.run` (capture middleware, WARC, archive.db, list parsing). Both run in
a subprocess; CPU time is the child's user+sys. The portal itself is served from this process,
every page made before the crawls. On a loaded machine, CPU figures vary by a fifth from run to
run: compare the two crawlers of one run, over several runs.

    .venv/bin/python benchmarks/crawl_overhead.py [--lists 50] [--runs 1]

Prints responses, wall and CPU seconds per crawler (the run with the least CPU of each), CPU ms
per response and the overhead; with --runs > 1 also each run's figures and the median ratio.
Each run also crawls one list page (21 responses) with every crawler: its CPU is the crawler's
start-up (imports, opening the archive, the first page), and (full - one list) / (responses -
21) is the marginal CPU per response, what a long crawl costs per page.
"bare+" is the bare spider given the Scrapy settings our crawler changes (CONCURRENT_ITEMS): the
overhead against it is what our middleware, WARC writing, archive.db and list parsing cost.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler import settings as crawler_settings  # noqa: E402

PER_LIST = 20
POLITENESS_OFF = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "false",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "ROBOTSTXT_OBEY": "false",
    "NIANBAO_PROGRESS_INTERVAL": "60",
}
# the Scrapy settings of crawler/settings.py that change what a bare spider costs ("bare+")
TUNED = [f"CONCURRENT_ITEMS={crawler_settings.CONCURRENT_ITEMS}"]
BODY = (REPO / "tests" / "fixtures" / "seeds" / "002_462e7e068fd78f13.txt").read_text("utf-8")


def _report_path(n: int) -> str:
    day = date(2023, 1, 1) + timedelta(days=n % 300)
    return f"/gknb/{day:%Y%m}/t{day:%Y%m%d}_{100000 + n}.html"


def _list_page(page: int, pages: int) -> str:
    items = "".join(
        f'<li><a href=".{_report_path(n)[5:]}" target="_blank">某区{2020 + n % 4}年政府信息公开'
        f"工作年度报告 {n}</a><span>2023-01-18</span></li>"
        for n in range(page * PER_LIST, (page + 1) * PER_LIST)
    )
    return (
        '<html><head><meta charset="utf-8"><title>政府信息公开年报</title></head><body>'
        f'<div class="list"><ul>{items}</ul></div><div class="page"><script>'
        f'createPageHTML({pages}, {page}, "index", "html");</script></div></body></html>'
    )


def _report_page(path: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" for line in BODY.splitlines() if line.strip())
    return (
        '<html><head><meta charset="utf-8"><title>某区政府信息公开工作年度报告</title>'
        f'<meta name="ArticleTitle" content="某区政府信息公开工作年度报告 {path}"></head><body>'
        f'<div class="article-content">{paragraphs}</div></body></html>'
    )


def serve(pages: int) -> tuple[ThreadingHTTPServer, int]:
    # every page made once, before the crawls: the portal shares the machine's cores with the
    # crawler it serves and should cost it as little CPU as it can
    bodies = {"/gknb/index.html": _list_page(0, pages).encode("utf-8")}
    for page in range(1, pages):
        bodies[f"/gknb/index_{page}.html"] = _list_page(page, pages).encode("utf-8")
    for n in range(pages * PER_LIST):
        bodies[_report_path(n)] = _report_page(_report_path(n)).encode("utf-8")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            data = bodies.get(self.path.split("?")[0])
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


BARE_SPIDER = """
import sys, scrapy
from scrapy.crawler import CrawlerProcess

class Bare(scrapy.Spider):
    name = "bare"
    start_urls = [sys.argv[1]]
    pages = int(sys.argv[2])

    def parse(self, response):
        for href in response.css(".list a::attr(href)").getall():
            yield response.follow(href, callback=self.report)
        if response.url.endswith("/index.html"):
            for n in range(1, self.pages):
                yield response.follow(f"index_{n}.html")

    def report(self, response):
        response.css("title::text").get()

settings = dict(LOG_LEVEL="ERROR", TELNETCONSOLE_ENABLED=False, **{k: v for k, v in
    [a.split("=", 1) for a in sys.argv[3:]]})
process = CrawlerProcess(settings)
crawler = process.create_crawler(Bare)
process.crawl(crawler)
process.start()
print(crawler.stats.get_value("response_received_count"))
"""


def _run(command: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one child process, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def _crawlers(start_url: str, lists: int, sets: list[str], sources: Path, root: Path):
    """(name, command, responses) of the three crawlers on the first `lists` list pages."""
    bare = [sys.executable, "-c", BARE_SPIDER, start_url, str(lists), *sets]
    ours = [sys.executable, "-m", "crawler.run", "--sources", str(sources)]
    ours += ["--db", str(root / "archive.db"), "--data-dir", str(root / "data")]
    for item in sets:
        ours += ["--set", item]
    return [("bare", bare), ("bare+", [*bare, *TUNED]), ("nianbao", ours)]


def _responses(name: str, out: str, root: Path) -> int:
    if name != "nianbao":
        return int(out.strip().splitlines()[-1])
    with contextlib.closing(sqlite3.connect(root / "archive.db")) as con:
        return con.execute("SELECT count(*) FROM captures").fetchone()[0]


def _sources(path: Path, start_url: str, lists: int) -> Path:
    path.write_text(
        "sources:\n  - id: bench\n    agency: 某区人民政府\n    division_code: '110101'\n"
        f"    level: county\n    cms: trs\n    start_urls: ['{start_url}']\n"
        f"    max_pages: {lists}\n    demo: true\n",
        encoding="utf-8",
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lists", type=int, default=50, help="list pages (20 reports each)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if args.lists < 2:
        parser.error("--lists must be at least 2 (a one-list crawl measures start-up)")
    # Our modules byte-compiled first, as an install does (Scrapy's come compiled; this
    # machine's PYTHONDONTWRITEBYTECODE would have every run compile ours again).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "crawler", "postprocess"], cwd=REPO, check=True
    )
    server, port = serve(args.lists)
    start_url = f"http://127.0.0.1:{port}/gknb/index.html"
    sets = [f"{k}={v}" for k, v in POLITENESS_OFF.items()]
    names = ("bare", "bare+", "nianbao")
    # per crawler, per run: (wall, cpu, responses) of the full crawl and of a one-list crawl
    full: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    small: dict[str, list[tuple[float, float, int]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for size, results in ((args.lists, full), (1, small)):
                root = Path(tmp) / f"run{run}-{size}"
                root.mkdir()
                sources = _sources(root / "sources.yml", start_url, size)
                for name, command in _crawlers(start_url, size, sets, sources, root):
                    wall, cpu, out = _run(command)
                    results[name].append((wall, cpu, _responses(name, out, root)))
    server.shutdown()
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"portal: {args.lists} list pages x {PER_LIST} reports on 127.0.0.1, politeness off, "
        f"{os.cpu_count()} cores"
    )
    line = "{:<8} {:>9} {:>8} {:>8} {:>12} {:>12} {:>14}"
    print(line.format("crawler", "responses", "wall s", "cpu s", "cpu ms/resp", "start-up s",
                      "marginal ms"))  # fmt: skip
    # marginal: CPU per response beyond a one-list crawl's (start-up, imports, the first page)
    per = {n: [c / max(r, 1) for _, c, r in full[n]] for n in names}
    marginal = {
        n: [
            (c - sc) / max(r - sr, 1)
            for (_, c, r), (_, sc, sr) in zip(full[n], small[n], strict=True)
        ]
        for n in names
    }
    best, best_marginal = {}, {}
    for name in names:
        i = min(range(args.runs), key=lambda k: full[name][k][1])
        wall, cpu, responses = full[name][i]
        best[name] = per[name][i]
        best_marginal[name] = min(marginal[name])
        print(
            line.format(
                name,
                responses,
                f"{wall:.2f}",
                f"{cpu:.2f}",
                f"{1000 * best[name]:.2f}",
                f"{min(c for _, c, _ in small[name]):.2f}",
                f"{1000 * best_marginal[name]:.2f}",
            )
        )
    if args.runs > 1:
        # a run's crawls ran back to back, under about the same load from other processes
        print("per run, cpu ms/resp bare / bare+ / nianbao (ratios to bare, to bare+; marginal):")
        for i in range(args.runs):
            print(
                f"  run {i + 1}: {1000 * per['bare'][i]:.2f} / {1000 * per['bare+'][i]:.2f} / "
                f"{1000 * per['nianbao'][i]:.2f} "
                f"({per['nianbao'][i] / per['bare'][i]:.2f}x, "
                f"{per['nianbao'][i] / per['bare+'][i]:.2f}x; marginal "
                f"{marginal['nianbao'][i] / marginal['bare'][i]:.2f}x, "
                f"{marginal['nianbao'][i] / marginal['bare+'][i]:.2f}x)"
            )
        for b in ("bare", "bare+"):
            r = sorted(x / y for x, y in zip(per["nianbao"], per[b], strict=True))
            m = sorted(x / y for x, y in zip(marginal["nianbao"], marginal[b], strict=True))
            print(f"  median ratio to {b}: {r[len(r) // 2]:.2f}x, marginal {m[len(m) // 2]:.2f}x")
    extra = best["nianbao"] - best["bare"]
    print(
        f"overhead: {1000 * extra:.2f} ms CPU per response, "
        f"{best['nianbao'] / best['bare']:.2f}x the bare spider (target: within 1.15x); "
        f"{best['nianbao'] / best['bare+']:.2f}x the bare spider given our Scrapy settings "
        f"({' '.join(TUNED)})"
    )
    print(
        f"marginal (start-up taken out): {best_marginal['nianbao'] / best_marginal['bare']:.2f}x "
        f"the bare spider, {best_marginal['nianbao'] / best_marginal['bare+']:.2f}x bare+"
    )


if __name__ == "__main__":
    main()
