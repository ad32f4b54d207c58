"""The build writes a new file and swaps it in: killed builds and killed indexing leave the
archive as it was, a wrong data directory is refused, and a server keeps answering (and then
answers from the new file) while builds and crawl writes happen underneath."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import free_port

from postprocess.build import BuildError, build_archive, building_path
from postprocess.cli import main
from postprocess.storage import db as archive_db
from postprocess.storage import search
from postprocess.storage.warc import WarcStore

REPO = Path(__file__).resolve().parent.parent
PAGE = (REPO / "tests" / "fixtures" / "pages" / "hanweb_index_table.html").read_bytes()
BASE = "http://www.hongze.gov.cn/hzqrmzf/gknb"
SOURCE = {
    "id": "js-hongze",
    "agency": "淮安市鹿城区人民政府",
    "division_code": "320813",
    "level": "county",
    "cms": "generic",
    "province": "江苏省",
    "city": "淮安市",
    "start_urls": [f"{BASE}/index.html"],
    "verified": 1,
    "demo": 1,
}
TABLES = ("reports", "cells", "stats", "checks", "attachments")


def add_pages(db_path: Path, data: Path, first: int, count: int) -> None:
    """Archive `count` report pages (numbered from `first`) as a crawl would."""
    db = archive_db.open_db(db_path)
    archive_db.upsert_sources(db, [SOURCE])
    crawl = archive_db.start_crawl(db, ["js-hongze"])
    store = WarcStore(data, f"test{first}")
    for n in range(first, first + count):
        url = f"{BASE}/2020{n:04d}/art_{n}.html"
        stored = store.write_response(url, 200, "OK", [("Content-Type", "text/html")], PAGE)
        archive_db.record_capture(
            db,
            {
                "crawl_id": crawl,
                "source_id": "js-hongze",
                "url": url,
                "method": "GET",
                "fetched_at": "2025-02-01T00:00:00Z",
                "status": 200,
                "content_type": "text/html",
                **stored.capture_fields(),
                "role": "report",
                "blocked": 0,
            },
        )
    store.close()
    db.close()


def snapshot(db_path: Path) -> dict[str, list]:
    conn = sqlite3.connect(db_path)
    try:
        return {t: conn.execute(f"SELECT * FROM [{t}] ORDER BY id").fetchall() for t in TABLES}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pages_archive(tmp_path_factory) -> tuple[Path, Path]:
    """60 report pages, built once."""
    root = tmp_path_factory.mktemp("swap")
    db_path, data = root / "archive.db", root / "data"
    add_pages(db_path, data, 1, 60)
    build_archive(db_path, data, echo=lambda _: None, jobs=1)
    return db_path, data


@pytest.fixture
def archive(pages_archive, tmp_path) -> tuple[Path, Path]:
    src, data = pages_archive
    db_path = tmp_path / "archive.db"
    db_path.write_bytes(src.read_bytes())
    return db_path, data


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen, marker: str, count: int = 1) -> None:
    seen = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        if marker in line:
            seen += 1
            if seen == count:
                return
    raise AssertionError(f"process ended before printing {marker!r} {count} times")


KILLED_BUILD = """
import sys
from postprocess.build import build_archive
from postprocess.storage import db as archive_db

write = archive_db.DerivedWriter.write
def announced(self, items):
    write(self, items)
    print("batch written", flush=True)
archive_db.DerivedWriter.write = announced
build_archive(sys.argv[1], sys.argv[2], echo=lambda _: None, jobs=1, batch_size=5)
print("done", flush=True)
"""


def test_build_killed_mid_way_leaves_the_archive_and_a_rebuild_repairs(archive):
    db_path, data = archive
    before = snapshot(db_path)
    proc = _python(KILLED_BUILD, str(db_path), str(data))
    _wait_for(proc, "batch written", 2)  # two batches committed in the new file
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert building_path(db_path).exists()  # the half-built file, not the archive
    half = sqlite3.connect(building_path(db_path))
    (written,) = half.execute("SELECT count(*) FROM reports").fetchone()
    half.close()
    assert written in (5, 10, 15)  # whole batches of 5, each its own transaction
    assert snapshot(db_path) == before
    build_archive(db_path, data, echo=lambda _: None, jobs=1)
    assert snapshot(db_path) == before
    assert not building_path(db_path).exists()


KILLED_INDEX = """
import sys, time
from postprocess.storage import db as archive_db, search

ngram = search.ngram_text
calls = 0
def slow(text):
    global calls
    calls += 1
    if calls == 30:
        print("indexing", flush=True)
        time.sleep(60)
    return ngram(text)
search.ngram_text = slow
search.index_reports(archive_db.open_db(sys.argv[1]), batch=5)
"""


def test_parallel_build_gives_the_same_rows(archive):
    db_path, data = archive
    before = snapshot(db_path)  # built with jobs=1
    result = build_archive(db_path, data, echo=lambda _: None, jobs=2, batch_size=7)
    assert result.reports == 60
    assert snapshot(db_path) == before
    conn = sqlite3.connect(db_path)
    # no free pages left behind by the old rows and the index's merged segments
    assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)
    # built without a write-ahead log, it goes in with a rollback journal and leaves no log
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()
    assert (
        not Path(f"{db_path}-wal").exists() and not Path(f"{building_path(db_path)}-wal").exists()
    )


def test_sigkill_during_indexing_keeps_the_old_index_and_the_view(archive):
    db_path, _ = archive
    db = archive_db.open_db(db_path)
    before = search.search_reports(db, "鹿城区", limit=100)
    db.close()
    assert len(before) == 60
    proc = _python(KILLED_INDEX, str(db_path))
    _wait_for(proc, "indexing")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = archive_db.open_db(db_path)
    assert db.execute("SELECT type FROM sqlite_master WHERE name = 'report_search'").fetchone()
    assert search.search_reports(db, "鹿城区", limit=100) == before
    db.close()


def test_build_refuses_a_missing_or_wrong_data_dir(archive, tmp_path):
    db_path, data = archive
    before = snapshot(db_path)
    runner = CliRunner()
    missing = runner.invoke(
        main, ["build", "--db", str(db_path), "--data-dir", str(tmp_path / "x")]
    )
    assert missing.exit_code == 1
    assert "data directory" in missing.output and "does not exist" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    wrong = runner.invoke(main, ["build", "--db", str(db_path), "--data-dir", str(empty)])
    assert wrong.exit_code == 1
    assert "none of the 1 WARC files the captures point to is readable" in wrong.output
    assert snapshot(db_path) == before
    assert not building_path(db_path).exists()


def test_build_refuses_to_swap_when_a_crawl_wrote_meanwhile(archive, monkeypatch):
    db_path, data = archive
    import postprocess.build as build

    real = build._index

    def crawl_meanwhile(db, echo):
        real(db, echo)
        add_pages(db_path, data, 500, 1)  # lands in the live file during the build

    monkeypatch.setattr(build, "_index", crawl_meanwhile)
    with pytest.raises(BuildError, match="changed during the build"):
        build_archive(db_path, data, echo=lambda _: None, jobs=1)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM captures").fetchone() == (61,)
    conn.close()


# --- serving while building ------------------------------------------------------------------


class Server(threading.Thread):
    def __init__(self, db_path: Path) -> None:
        import uvicorn

        from postprocess.publish.serve import make_datasette

        super().__init__(daemon=True)
        self.port = free_port()
        app = make_datasette(db_path).app()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)

    def run(self) -> None:
        self.server.run()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


READS = [
    "/archive/reports.json?_size=5&_shape=objects",
    "/archive/cells.json?report_id={rid}&_shape=objects",
    "/archive/report_search.json?_search=鹿城区&_size=3",
    "/archive/requests_per_year.json?_shape=array",
    "/archive/failing_reports.json?rule=&_shape=array",
]


def test_readers_get_no_error_while_builds_swap_the_file(archive):
    db_path, data = archive
    server = Server(db_path)
    server.start()
    count_url = server.url("/archive.json?sql=select+count(*)+as+n+from+reports&_shape=array")
    for _ in range(100):
        try:
            assert _get(count_url) == [{"n": 60}]
            break
        except OSError:
            time.sleep(0.1)
    errors: list[str] = []
    answers = 0
    stop = threading.Event()
    rid = snapshot(db_path)["reports"][0][0]

    def reader(k: int) -> None:
        nonlocal answers
        i = k
        while not stop.is_set():
            path = READS[i % len(READS)].format(rid=rid)
            i += 1
            try:
                _get(server.url(urllib.parse.quote(path, safe="/?=&.")))
                answers += 1
            except urllib.error.HTTPError as exc:
                errors.append(f"{path}: HTTP {exc.code} {exc.read()[:500]!r}")
            except Exception as exc:  # noqa: BLE001 - every failure counts
                errors.append(f"{path}: {exc!r}")

    threads = [threading.Thread(target=reader, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        expected = 60
        # a crawl writes right after each swap: it turns WAL on while readers open the new file
        for step, count in enumerate((10, 15, 5, 5)):
            add_pages(db_path, data, 1000 + 100 * step, count)
            result = subprocess.run(
                [sys.executable, "-m", "postprocess.cli", "build", "--db", str(db_path),
                 "--data-dir", str(data), "--jobs", "2"],
                cwd=REPO, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            expected += count
            assert _get(count_url) == [{"n": expected}]
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.server.should_exit = True
        server.join(timeout=10)
    assert errors == []
    assert answers > 50


def test_a_query_is_tried_again_on_an_error_a_passing_lock_gives(archive):
    """FTS5 reads its config when a new connection first uses the index; a crawl turning WAL on
    in that moment fails the read at once (SQLite does not wait there): the query runs again."""
    import asyncio

    from postprocess.publish.serve import make_datasette

    db = make_datasette(archive[0]).get_database("archive")
    calls = []

    def flaky(times: int, message: str):
        def fn(conn):
            calls.append(message)
            if len(calls) <= times:
                raise sqlite3.OperationalError(message)
            return conn.execute("select count(*) from reports").fetchone()[0]

        return fn

    assert asyncio.run(db.execute_fn(flaky(2, "vtable constructor failed: reports_fts"))) == 60
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        asyncio.run(db.execute_fn(flaky(1, "no such column: x")))  # a real error: at once
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(sqlite3.OperationalError, match="vtable constructor failed"):
        asyncio.run(db.execute_fn(flaky(99, "vtable constructor failed: reports_fts")))
    assert len(calls) == 6  # the first try and five more, under a second in all
    db.close()


def test_served_archive_is_read_only_and_not_immutable(archive):
    import asyncio

    from postprocess.publish.serve import make_datasette

    db_path, _ = archive
    db = make_datasette(db_path).get_database("archive")

    async def attempt():
        uri = await db.execute("select file from pragma_database_list where name = 'main'")
        with pytest.raises(PermissionError, match="read-only"):
            await db.execute_write("delete from reports")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await db.execute_fn(lambda conn: conn.execute("delete from reports"))
        return uri.rows[0][0]

    assert asyncio.run(attempt()) == str(db_path)
    assert snapshot(db_path)["reports"]
    db.close()
