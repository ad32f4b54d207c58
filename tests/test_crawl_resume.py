"""A crawl killed with SIGKILL, or stopped by a full disk, is marked as such; running the same
command again fetches only what is missing (the real crawler against the demo portals)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from conftest import FAST_CRAWL_SETTINGS, REPO, db_rows, run_crawler

from postprocess.cli import main as cli
from postprocess.storage.db import open_db

ROLES = ("list", "report", "attachment")
# os.write refusing WARC bytes past a budget with ENOSPC, as a full disk does (the tests cannot
# mount a tiny file system); everything else is written normally.
DISK_FULL = """
import errno, os, sys
real_write = os.write
budget = [int(sys.argv[1])]
def write(fd, data):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        target = ""
    if not target.endswith(".warc.gz"):
        return real_write(fd, data)
    if budget[0] <= 0:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    n = real_write(fd, bytes(data[: budget[0]]))
    budget[0] -= n
    return n
os.write = write
from crawler.run import main
sys.exit(main(sys.argv[2:]))
"""


def _fetched(db: Path) -> set[tuple[str, str]]:
    """(role, url) of every page and file archived with a 200."""
    return set(
        db_rows(
            db, "SELECT role, url FROM captures WHERE status = 200 AND role IN (?, ?, ?)", ROLES
        )
    )


def _refetched(db: Path, first: int, second: int) -> list[str]:
    """GET URLs archived with a 200 by crawl `first` and fetched again by crawl `second`."""
    return [
        r[0]
        for r in db_rows(
            db,
            "SELECT DISTINCT b.url FROM captures b JOIN captures a ON a.url = b.url "
            "AND a.crawl_id = ? AND a.status = 200 AND a.method = 'GET' AND a.role IN (?, ?, ?) "
            "WHERE b.crawl_id = ? AND b.method = 'GET'",
            (first, *ROLES, second),
        )
    ]


def _command(port: int, root: Path, settings: dict) -> list[str]:
    command = ["--demo-port", str(port), "--db", str(root / "archive.db")]
    command += ["--data-dir", str(root / "data")]
    for key, value in {**FAST_CRAWL_SETTINGS, **settings}.items():
        command += ["--set", f"{key}={value}"]
    return command


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}


def _verify(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["verify", "--db", str(root / "archive.db"), "--data-dir", str(root / "data")]
    )
    return result.exit_code, result.output


def _same_command_completes_the_failed_crawl(port: int, root: Path, full_db: Path) -> None:
    """Running the crawl again resumes the failed one: nothing fetched twice, and together they
    archive what one uninterrupted crawl does."""
    again = run_crawler(["--demo-port", str(port)], root)
    assert again.returncode == 0, again.stderr[-3000:]
    db = root / "archive.db"
    assert db_rows(db, "SELECT id, status, resumes FROM crawls") == [
        (1, "failed", None),
        (2, "finished", "[1]"),
    ]
    assert _refetched(db, 1, 2) == []
    assert _fetched(db) == _fetched(full_db)
    assert _verify(root)[0] == 0


def test_killed_crawl_marked_interrupted_and_resumed(demo_crawl, tmp_path: Path) -> None:
    full_db, _, port = demo_crawl
    slow = {"DOWNLOAD_DELAY": "0.2", "AUTOTHROTTLE_ENABLED": "false"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.run", *_command(port, tmp_path, slow)],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = tmp_path / "archive.db"
    deadline = time.monotonic() + 60
    reports = 0
    while reports < 12 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            reports = db_rows(db, "SELECT count(*) FROM captures WHERE role = 'report'")[0][0]
        except sqlite3.Error:
            continue
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the crawl ended before it could be killed"
    assert db_rows(db, "SELECT id, status FROM crawls") == [(1, "running")]
    first = _fetched(db)
    assert 12 <= len({u for role, u in first if role == "report"}) < 61

    again = run_crawler(["--demo-port", str(port)], tmp_path)  # the same command, run again
    assert again.returncode == 0, again.stderr[-3000:]
    assert "crawl 1 was interrupted (its process is gone): marked interrupted" in again.stdout
    assert "resumed crawl 1 (" in again.stdout
    assert db_rows(db, "SELECT id, status, resumes FROM crawls") == [
        (1, "interrupted", None),
        (2, "finished", "[1]"),
    ]
    assert _refetched(db, 1, 2) == []  # only what was missing was fetched
    assert _fetched(db) == _fetched(full_db)  # together: what one uninterrupted crawl archives
    assert _verify(tmp_path)[0] == 0


def test_disk_full_stops_crawl_loudly_then_same_command_completes(
    demo_crawl, tmp_path: Path
) -> None:
    full_db, _, port = demo_crawl
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FULL, "40000", *_command(port, tmp_path, {})],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("crawler.run: error:")]
    assert len(errors) == 1 and "No space left on device (file cut back to " in errors[0]
    assert "crawl stopped: [Errno 28] cannot write WARC record" in proc.stderr
    db = tmp_path / "archive.db"
    assert db_rows(db, "SELECT status FROM crawls") == [("failed",)]
    code, output = _verify(tmp_path)
    assert code == 0, output  # no torn record, no record without its row, no row without record
    stopped = _fetched(db)
    assert len(stopped) < len(_fetched(full_db))

    _same_command_completes_the_failed_crawl(port, tmp_path, full_db)


# SQLite refusing to grow the archive past a number of pages (SQLITE_FULL, as a full disk under
# the database does); the schema and the crawl's first rows fit, later captures do not.
DATABASE_FULL = """
import sqlite3, sys
limit = int(sys.argv[1])
real_connect = sqlite3.connect
def connect(*args, **kwargs):
    conn = real_connect(*args, **kwargs)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {max(pages, limit)}")
    return conn
sqlite3.connect = connect
from crawler.run import main
sys.exit(main(sys.argv[2:]))
"""


def test_database_full_stops_crawl_loudly_then_build_and_same_command_work(
    demo_crawl, tmp_path: Path
) -> None:
    full_db, _, port = demo_crawl
    empty = tmp_path / "schema-only.db"
    open_db(empty).conn.close()
    limit = db_rows(empty, "PRAGMA page_count")[0][0] + 6
    proc = subprocess.run(
        # small batches, so some commit before the database fills (a batch is kept or cut whole)
        [
            sys.executable,
            "-c",
            DATABASE_FULL,
            str(limit),
            *_command(port, tmp_path, {"NIANBAO_CAPTURE_BATCH": "5"}),
        ],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("crawler.run: error:")]
    assert len(errors) == 1 and "database or disk is full" in errors[0], proc.stderr[-3000:]
    db = tmp_path / "archive.db"
    assert db_rows(db, "SELECT status FROM crawls") == [("failed",)]
    code, output = _verify(tmp_path)
    assert code == 0, output  # every WARC record has its row, every row its record
    stopped = _fetched(db)
    assert 0 < len(stopped) < len(_fetched(full_db))

    built = CliRunner().invoke(
        cli, ["build", "--db", str(db), "--data-dir", str(tmp_path / "data")]
    )
    assert built.exit_code == 0, built.output
    reports = db_rows(db, "SELECT count(*) FROM reports")[0][0]
    assert reports == len({u for role, u in stopped if role == "report"})

    _same_command_completes_the_failed_crawl(port, tmp_path, full_db)
