"""Distributed mode: two worker processes share one frontier in a real redis-server.

The workers crawl the demo portals together, into one archive (one host) or into an archive each
merged afterwards (several hosts); every URL is fetched as often as a single-process crawl fetches
it (robots.txt excepted: each worker asks each host itself), each worker writes its own WARC
files, and the built archive equals the single-process one.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CRAWL_TIMEOUT, FAST_CRAWL_SETTINGS, REPO, free_port

from postprocess.build import build_archive

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1 (Debian's package; ./dev test installs it)."""
    if not Path(REDIS_SERVER).exists():
        pytest.fail("distributed tests need redis-server (apt-get install redis-server)")
    import redis

    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.time() + 20
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.RedisError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _worker(
    root: Path, port: int, redis_url: str, name: str, run: str, own_archive: bool
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    command = [
        sys.executable,
        "-m",
        "crawler.run",
        "--demo-port",
        str(port),
        "--db",
        str(root / name / "archive.db" if own_archive else root / "archive.db"),
        "--data-dir",
        str(root / name / "data" if own_archive else root / "data"),
        "--redis",
        redis_url,
        "--run-name",
        run,
        "--worker",
        name,
    ]
    settings = {
        **FAST_CRAWL_SETTINGS,
        # A short peer TTL: a worker that died stops holding the others open quickly.
        "NIANBAO_PEER_TTL": "20",
        # Few requests in flight and a small delay per worker, so that neither drains the shared
        # queue before the other has started, however loaded the machine.
        "CONCURRENT_REQUESTS": "2",
        "DOWNLOAD_DELAY": "0.05",
    }
    for key, value in settings.items():
        command += ["--set", f"{key}={value}"]
    log = open(root / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def _fetches(db_path: Path) -> Counter:
    """How often each URL was fetched (robots.txt aside), with what it answered."""
    with sqlite3.connect(db_path) as con:
        rows = con.execute(
            "SELECT url, status, sha256 FROM captures WHERE url NOT LIKE '%/robots.txt'"
        ).fetchall()
    return Counter(rows)


def _reports(db_path: Path) -> Counter:
    with sqlite3.connect(db_path) as con:
        rows = con.execute(
            "SELECT r.url, r.title, r.agency, r.year, r.kind, r.format, "
            "(SELECT count(*) FROM cells c WHERE c.report_id = r.id) FROM reports r"
        ).fetchall()
    return Counter(rows)


def _crawl_together(root: Path, port: int, redis_url: str, own_archive: bool) -> None:
    run = root.name
    for name in ("w1", "w2"):
        (root / name).mkdir()
    workers = [_worker(root, port, redis_url, n, run, own_archive) for n in ("w1", "w2")]
    for proc in workers:
        try:
            proc.wait(timeout=CRAWL_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    logs = {n: (root / f"{n}.log").read_text(encoding="utf-8") for n in ("w1", "w2")}
    codes = [p.returncode for p in workers]
    assert codes == [0, 0], f"worker exits {codes}:\n" + "\n".join(
        f"--- {k}\n{v[-3000:]}" for k, v in logs.items()
    )


@pytest.fixture(scope="module")
def distributed_crawl(demo_crawl, redis_url, tmp_path_factory) -> Path:
    """Two workers on one host crawling the demo portals together into one archive."""
    root = tmp_path_factory.mktemp("one-host")
    _crawl_together(root, demo_crawl[2], redis_url, own_archive=False)
    return root


@pytest.fixture(scope="module")
def merged_crawl(demo_crawl, redis_url, tmp_path_factory) -> Path:
    """Two workers with an archive each (as on two hosts), merged into a third with the CLI."""
    root = tmp_path_factory.mktemp("two-hosts")
    _crawl_together(root, demo_crawl[2], redis_url, own_archive=True)
    for name in ("w1", "w2", "w2"):  # merging twice adds nothing
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "postprocess.cli",
                "merge",
                str(root / name / "archive.db"),
                str(root / name / "data"),
                "--db",
                str(root / "archive.db"),
                "--data-dir",
                str(root / "data"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        (root / f"merge-{name}.out").write_text(proc.stdout, encoding="utf-8")
    return root


def test_distributed_every_url_fetched_as_by_one_process(demo_crawl, distributed_crawl):
    single_db, _data, _port = demo_crawl
    assert _fetches(distributed_crawl / "archive.db") == _fetches(single_db)


def test_distributed_workers_on_two_hosts_merge_into_one_archive(demo_crawl, merged_crawl):
    single_db, _data, _port = demo_crawl
    assert _fetches(merged_crawl / "archive.db") == _fetches(single_db)
    second = (merged_crawl / "merge-w2.out").read_text(encoding="utf-8")
    assert second.startswith("merge: 0 captures added (")
    assert ", 0 fetch errors, 0 crawls, 0 WARC files copied" in second


@pytest.mark.parametrize("crawl", ["distributed_crawl", "merged_crawl"])
def test_distributed_archive_keeps_parents_across_workers(crawl, request):
    """Merged, or written into one archive, where a page's parent row may be committed after
    it by the other worker: every page named by its parent's record id is linked to it."""
    root = request.getfixturevalue(crawl)
    with sqlite3.connect(root / "archive.db") as con:
        dangling = con.execute(
            "SELECT count(*) FROM captures c WHERE c.parent_record_id IS NOT NULL AND "
            "c.parent_capture_id IS NULL"
        ).fetchone()[0]
        children = con.execute(
            "SELECT count(*) FROM captures c JOIN captures p ON p.id = c.parent_capture_id "
            "WHERE p.warc_record_id = c.parent_record_id"
        ).fetchone()[0]
    assert dangling == 0
    assert children > 0


def test_distributed_workers_share_the_work_and_write_their_own_warc(distributed_crawl):
    with sqlite3.connect(distributed_crawl / "archive.db") as con:
        per_crawl = dict(
            con.execute(
                "SELECT crawl_id, count(*) FROM captures WHERE url NOT LIKE '%/robots.txt' "
                "GROUP BY crawl_id"
            ).fetchall()
        )
        files = con.execute("SELECT DISTINCT crawl_id, warc_file FROM captures").fetchall()
        statuses = [r[0] for r in con.execute("SELECT status FROM crawls ORDER BY id")]
    assert len(per_crawl) == 2 and all(n > 0 for n in per_crawl.values()), per_crawl
    owners: dict[str, set[int]] = {}
    for crawl_id, warc_file in files:
        owners.setdefault(warc_file, set()).add(crawl_id)
    assert all(len(ids) == 1 for ids in owners.values()), owners
    assert statuses == ["finished", "finished"]


@pytest.mark.parametrize("crawl", ["distributed_crawl", "merged_crawl"])
def test_distributed_archive_builds_like_a_single_crawl(demo_archive_path, crawl, request):
    root = request.getfixturevalue(crawl)
    copy = root / "built.db"
    shutil.copy(root / "archive.db", copy)
    build_archive(copy, root / "data", echo=lambda _line: None)
    assert _reports(copy) == _reports(demo_archive_path)


def test_distributed_bad_redis_url_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.run",
            "--demo-port",
            "1",
            "--db",
            str(tmp_path / "a.db"),
            "--data-dir",
            str(tmp_path / "d"),
            "--redis",
            f"redis://127.0.0.1:{free_port()}/0",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("crawler.run: error: cannot reach Redis at redis://127.0.0.1:")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "a.db").exists()
