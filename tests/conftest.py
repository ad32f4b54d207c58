"""Shared fixtures: the demo portal crawled once per test session by the real crawler."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The demo portal is local: no politeness delay is needed to spare it. AutoThrottle stays on
# (only its delays are lowered) so the crawl runs the same machinery as on real portals.
FAST_CRAWL_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_START_DELAY": "0",
    "AUTOTHROTTLE_MAX_DELAY": "0.5",
    "NIANBAO_PROGRESS_INTERVAL": "1",
}
CRAWL_TIMEOUT = 300
# The browser tests drive Debian's Chromium (`./dev test` installs it).
CHROMIUM = Path(os.environ.get("NIANBAO_CHROMIUM", "/usr/bin/chromium"))


def browser_missing() -> list[str]:
    """What the browser tests lack on this machine (empty when they can run)."""
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium; ./dev test installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -e '.[test]')")
    return missing


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Chromium for the browser tests. Missing, they fail under CI (CI set) and skip elsewhere:
    CI must never turn green by silently dropping them."""
    missing = browser_missing()
    if missing:
        message = "browser tests need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set: failing instead of skipping)")
        pytest.skip(message)
    return CHROMIUM


def run_crawler(
    args: list[str], root: Path, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m crawler.run ARGS` into root/archive.db and root/data, in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    sets = [f"{k}={v}" for k, v in {**FAST_CRAWL_SETTINGS, **(settings or {})}.items()]
    command = [
        sys.executable,
        "-m",
        "crawler.run",
        *args,
        "--db",
        str(root / "archive.db"),
        "--data-dir",
        str(root / "data"),
    ]
    for item in sets:
        command += ["--set", item]
    proc = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=CRAWL_TIMEOUT
    )
    (root / "crawl.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return proc


@pytest.fixture(scope="session")
def demo_crawl(tmp_path_factory) -> Iterator[tuple[Path, Path, int]]:
    """Crawl the demo portals with the project settings; yields (db_path, data_dir, port).

    The portal keeps serving until the session ends; root/crawl.log holds the crawler's output.
    """
    from crawler.demo.server import running_portal

    root = tmp_path_factory.mktemp("demo_crawl")
    with running_portal(0) as port:
        proc = run_crawler(["--demo-port", str(port)], root)
        if proc.returncode != 0:
            pytest.fail(f"demo crawl failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
        yield root / "archive.db", root / "data", port


@pytest.fixture(scope="session")
def demo_archive_path(demo_crawl, tmp_path_factory) -> Path:
    """The demo crawl built into a finished archive.db (a copy; the crawl's db stays raw)."""
    import shutil

    from postprocess.build import build_archive

    db_path, data_dir, _port = demo_crawl
    copy = tmp_path_factory.mktemp("demo_archive") / "archive.db"
    shutil.copy(db_path, copy)
    build_archive(copy, data_dir, echo=lambda _line: None)
    return copy


def db_rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of one query on an archive.db, as tuples, on a connection of its own."""
    con = sqlite3.connect(db)
    try:
        return [tuple(r) for r in con.execute(sql, params).fetchall()]
    finally:
        con.close()


def capture_middleware(root: Path, sources: list, settings: dict | None = None):
    """A generic spider's CaptureMiddleware writing into root/archive.db and root/data, opened.

    The tests read the archive from another connection as they go: a batch of one row commits
    each capture at once (batches are tested apart)."""
    from scrapy.utils.test import get_crawler

    from crawler.middlewares import CaptureMiddleware
    from crawler.spiders.generic import GenericSpider

    crawler = get_crawler(
        GenericSpider,
        {
            "NIANBAO_DB": str(root / "archive.db"),
            "NIANBAO_DATA_DIR": str(root / "data"),
            "NIANBAO_CAPTURE_BATCH": 1,
            **(settings or {}),
        },
    )
    crawler.spider = GenericSpider(sources=sources)
    crawler.stats.open_spider()
    middleware = CaptureMiddleware.from_crawler(crawler)
    middleware.spider_opened(crawler.spider)
    return middleware


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server_process(
    command: list[str], ready_url: str, timeout: float = 60, **popen
) -> Iterator[subprocess.Popen]:
    """A server subprocess, yielded once ready_url answers; stopped on exit."""
    proc = subprocess.Popen(command, cwd=REPO, **popen)
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(ready_url, timeout=5)
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"{command[:4]} did not start") from None
            time.sleep(0.2)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
