"""Publication one visitor cannot take down: bounded highlighting and SQL, public-mode hardening."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from archive_fixture import archive_path  # noqa: F401
from conftest import free_port, server_process

from postprocess.publish.serve import (
    CSP,
    PUBLIC_DASH_PREFIXES,
    hidden_in_public,
    make_datasette,
    memory_limit_mb,
)
from postprocess.storage import search

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "申请公开" * 500_000  # 2M characters, a million hits for "申请 公开"


def _get(ds, path: str):
    return asyncio.run(ds.client.get(path))


@pytest.fixture(scope="module")
def public_ds(archive_path):  # noqa: F811
    return make_datasette(archive_path, public=True)


@pytest.fixture(scope="module")
def local_ds(archive_path):  # noqa: F811
    return make_datasette(archive_path)


# --- highlighting -----------------------------------------------------------------------------


def test_snippet_of_a_huge_text_with_a_million_hits_is_bounded():
    start = time.perf_counter()
    out = search.snippet(HOSTILE, "申请 公开")
    elapsed = time.perf_counter() - start
    # Three hits, then text up to 1.5 widths (90 characters) past the first hit.
    assert out == "<mark>申请</mark><mark>公开</mark><mark>申请</mark>" + "公开申请" * 21 + "公开…"
    assert elapsed < 1.0


def test_snippet_finds_a_hit_deep_in_the_scan_window_only():
    deep = "甲" * (search.SNIPPET_SCAN - 10) + "收费" + "乙" * 10
    assert search.snippet(deep, "收费", width=3) == "…甲甲甲<mark>收费</mark>乙乙乙乙…"
    too_deep = "甲" * search.SNIPPET_SCAN + "收费"
    assert search.snippet(too_deep, "收费", width=3) == "甲甲甲甲甲甲…"


def test_snippet_folds_fullwidth_and_case_without_moving_offsets():
    assert search.snippet("报告ＡＢＣ２０２２年", "abc 2022") == (
        "报告<mark>ＡＢＣ</mark><mark>２０２２</mark>年"
    )


# --- SQL a visitor can send ------------------------------------------------------------------


HOSTILE_SQL = {
    "ngrams-zeroblob": "select length(nianbao_ngrams(zeroblob(40000000)))",
    "randomblob": "select length(randomblob(1000000000))",
    "zeroblob": "select length(zeroblob(1000000000))",
    # SQLite 3.40 writes the character once per step of the precision inside one step of the
    # statement, past the time limit's reach (about 6 s): the served printf refuses such widths.
    "printf": "select length(printf('%.*c', 1000000000, 'x'))",
    "format-text-width": "select length(format('%.*c', '1000000000', 'x'))",
    "printf-blob-format": "select length(printf(x'252e2a63', 1000000000, 'x'))",
}


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("name", sorted(HOSTILE_SQL))
def test_served_sql_cannot_allocate_without_limit(local_ds, name):
    start = time.perf_counter()
    response = _get(local_ds, "/archive.json?" + urllib.parse.urlencode({"sql": HOSTILE_SQL[name]}))
    assert time.perf_counter() - start < 2.5
    assert response.status_code == 400
    assert response.json()["error"] in (
        "string or blob too big",
        "user-defined function raised exception",
    )


@pytest.mark.parametrize("name", sorted(HOSTILE_SQL))
def test_public_mode_refuses_hostile_sql(public_ds, name):
    start = time.perf_counter()
    response = _get(
        public_ds, "/archive.json?" + urllib.parse.urlencode({"sql": HOSTILE_SQL[name]})
    )
    assert time.perf_counter() - start < 2.5
    assert response.status_code == 403


@pytest.mark.parametrize(
    "call",
    [
        "printf('%d-%s-%5.2f', 3, 'a', 2.5)",
        "printf('%.*c', 5, 'x')",
        "format('%%%d %q', 7, 'it''s')",
        "printf('%*d|%-4s|', 4, 3, 'ab')",
        "printf('%,d %.*s', 1234567, 2, 'abcdef')",
        "printf(NULL)",
        "printf(12)",
    ],
)
def test_served_printf_answers_as_sqlite(local_ds, call):
    own = sqlite3.connect(":memory:").execute(f"select {call}").fetchone()[0]
    sql = f"select {call} as v"
    response = _get(local_ds, "/archive.json?_shape=array&" + urllib.parse.urlencode({"sql": sql}))
    assert response.json() == [{"v": own}]


def test_served_ngrams_still_work_on_ordinary_input(local_ds):
    sql = "select nianbao_ngrams('行政复议') as t"
    response = _get(local_ds, "/archive.json?_shape=array&" + urllib.parse.urlencode({"sql": sql}))
    assert response.json() == [{"t": "行政 政复 复议 议"}]


# --- public mode ----------------------------------------------------------------------------


def test_public_mode_refuses_arbitrary_sql_and_keeps_canned_queries(public_ds):
    assert _get(public_ds, "/archive.json?sql=select+1").status_code == 403
    assert _get(public_ds, "/archive?sql=select+1").status_code == 403
    assert _get(public_ds, "/archive/requests_per_year.json").status_code == 200
    rows = _get(public_ds, "/archive/search.json?_shape=array&q=外网").json()
    assert rows and all("<mark>外网</mark>" in r["snippet"] for r in rows)
    facets = _get(public_ds, "/archive/reports.json?_facet=province").json()
    assert facets["facet_results"]["province"]["results"]


def test_local_mode_keeps_arbitrary_sql(local_ds):
    assert _get(local_ds, "/archive.json?_shape=array&sql=select+1+as+x").json() == [{"x": 1}]


@pytest.mark.parametrize(
    "path",
    [
        "/-/threads",
        "/-/threads.json",
        "/-/actor.json",
        "/-/databases.json",
        "/-/plugins.json",
        "/-/versions.json",
        "/-/settings.json",
        "/-/config.json",
        "/-/metadata.json",
        "/-/permissions",
        "/-/messages",
        "/-/allow-debug",
        "/-/patterns",
        "/-/auth-token",
    ],
)
def test_public_mode_hides_debug_pages(public_ds, local_ds, path):
    assert _get(public_ds, path).status_code == 404
    assert _get(local_ds, path).status_code != 404


def test_public_mode_keeps_static_files_and_charts(public_ds):
    assert _get(public_ds, "/-/static/app.css").status_code == 200
    assert _get(public_ds, "/-/nianbao/chart/archive/requests_per_year.svg").status_code == 200
    assert not hidden_in_public("/archive/reports")
    assert all(not hidden_in_public(p + "x") for p in PUBLIC_DASH_PREFIXES)


def test_public_pages_disclose_no_absolute_path(public_ds, archive_path):  # noqa: F811
    secrets = {str(archive_path.parent), str(REPO), sys.prefix}
    for path in [
        "/",
        "/.json",
        "/archive",
        "/archive.json",
        "/archive/reports.json",
        "/archive/captures.json",
        "/archive/reports/1",
        "/archive/reports/1.json",
        "/archive/no_such_table",
        "/archive/search.json?q=外网",
        "/archive/reports.json?_sort=no_such_column",
        "/archive/reports.json?_search=%22",
        "/-/databases.json",
        "/-/plugins.json",
    ]:
        body = _get(public_ds, path).text
        assert not [s for s in secrets if s in body], path


@pytest.mark.parametrize(
    "path", ["/archive/reports", "/no/such/page", "/archive/reports?_search=外网", "/-/threads"]
)
def test_security_headers_on_every_response(public_ds, path):
    headers = _get(public_ds, path).headers
    assert headers["content-security-policy"] == CSP
    assert "frame-ancestors 'none'" in CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_memory_limit_from_argument_or_environment(monkeypatch):
    monkeypatch.setenv("NIANBAO_SERVE_MEMORY_MB", "777")
    assert memory_limit_mb() == 777
    assert memory_limit_mb(0) == 0
    monkeypatch.delenv("NIANBAO_SERVE_MEMORY_MB")
    assert memory_limit_mb() == 2048


# --- a real server --------------------------------------------------------------------------


@contextlib.contextmanager
def running_server(db: Path, **kwargs) -> Iterator[tuple[str, subprocess.Popen]]:
    """`serve_archive(db, **kwargs)` in a subprocess on a free port; yields (base URL, process)."""
    port = free_port()
    code = (
        "import sys, json; from postprocess.publish.serve import serve_archive; "
        "serve_archive(sys.argv[1], port=int(sys.argv[2]), **json.loads(sys.argv[3]))"
    )
    import json

    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", code, str(db), str(port), json.dumps(kwargs)]
    with server_process(command, url + "/archive.json", stdout=subprocess.DEVNULL) as proc:
        yield url, proc


def test_server_runs_under_its_memory_ceiling(archive_path):  # noqa: F811
    with running_server(archive_path, public=True, memory_mb=1536) as (url, proc):
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
        line = next(x for x in limits.splitlines() if x.startswith("Max address space"))
        soft_limit = line.split()[3]  # "Max address space <soft> <hard> bytes"
        assert soft_limit == str(1536 * 1024 * 1024)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "/-/threads.json", timeout=10)
        assert err.value.code == 404


@pytest.fixture(scope="module")
def hostile_archive(archive_path, tmp_path_factory) -> Path:  # noqa: F811
    """The test archive plus one report of 2M characters that hits every search for 申请 公开."""
    path = tmp_path_factory.mktemp("hostile") / "archive.db"
    shutil.copy(archive_path, path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO reports (id, title, agency, year, kind, text) VALUES (?, ?, ?, ?, ?, ?)",
            [9999, "申请公开统计", "某某局", 2022, "annual_report", HOSTILE],
        )
    conn.close()
    with sqlite3.connect(path) as conn:
        search.index_reports(conn)
    conn.close()
    return path


def _latency(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        r.read()
    return time.perf_counter() - start


def test_pathological_search_does_not_delay_other_requests(hostile_archive):
    """While one visitor searches the hostile report, a small page answers as fast as before."""
    with running_server(hostile_archive, public=True) as (url, _proc):
        small = url + "/archive/reports/1.json"
        for _ in range(3):  # warm up
            _latency(small)
        baseline = statistics.median(_latency(small) for _ in range(7))
        q = urllib.parse.quote("申请 公开")
        hostile = [
            f"{url}/archive/reports.json?_search={q}&_size=5",
            f"{url}/archive/report_search?_search={q}&_size=5",
            f"{url}/archive/search.json?q={q}",
        ]
        results: dict[str, object] = {}

        def run(u: str) -> None:
            try:
                with urllib.request.urlopen(u, timeout=60) as r:
                    results[u] = (r.status, r.read())
            except Exception as exc:  # recorded and asserted below
                results[u] = exc

        threads = [threading.Thread(target=run, args=(u,)) for u in hostile]
        for t in threads:
            t.start()
        delays = []
        while any(t.is_alive() for t in threads) or len(delays) < 3:
            delays.append(_latency(small) - baseline)
        for t in threads:
            t.join()
        for u in hostile:
            status, body = results[u]  # type: ignore[misc]
            assert status == 200, u
            assert "<mark>申请</mark>".encode() in body or b"\\u7533" in body, u
        print(f"baseline {baseline:.3f}s, worst delays {sorted(delays)[-3:]}")
        assert max(delays) < 1.0, (baseline, sorted(delays)[-5:])


def test_cli_serve_public_passes_the_hardening_options(monkeypatch, archive_path):  # noqa: F811
    from click.testing import CliRunner

    from postprocess.cli import main
    from postprocess.publish import serve

    calls = []
    monkeypatch.setattr(serve, "serve_archive", lambda *a, **k: calls.append((a, k)))
    db = str(archive_path)
    runner = CliRunner()
    assert runner.invoke(main, ["serve", "--db", db, "--public"]).exit_code == 0
    assert runner.invoke(main, ["serve", "--db", db, "--memory-limit", "0"]).exit_code == 0
    args = ["serve", "--db", db, "--public", "--allow-sql", "--memory-limit", "512"]
    assert runner.invoke(main, args).exit_code == 0
    base = {"port": 8001, "data_dir": None}
    assert [k for _a, k in calls] == [
        {**base, "host": "0.0.0.0", "public": True, "allow_sql": None, "memory_mb": None},
        {**base, "host": "127.0.0.1", "public": False, "allow_sql": None, "memory_mb": 0},
        {**base, "host": "0.0.0.0", "public": True, "allow_sql": True, "memory_mb": 512},
    ]


def test_public_mode_with_allow_sql_keeps_debug_pages_hidden(archive_path):  # noqa: F811
    ds = make_datasette(archive_path, public=True, allow_sql=True)
    assert _get(ds, "/archive.json?_shape=array&sql=select+2+as+x").json() == [{"x": 2}]
    assert _get(ds, "/-/threads.json").status_code == 404


def test_server_stops_on_sigterm_in_the_middle_of_pathological_searches(hostile_archive):
    """SIGTERM while visitors search the hostile report and open it with every hit marked: the
    server stops (it used to sit at full CPU and ignore the signal)."""
    with running_server(hostile_archive, public=True) as (url, proc):
        q = urllib.parse.quote("申请 公开")
        hostile = [
            f"{url}/archive/reports.json?_search={q}&_size=5",
            f"{url}/archive/report_search?_search={q}&_size=5",
            f"{url}/archive/reports/9999?q={q}",
        ]

        def run(u: str) -> None:
            with contextlib.suppress(Exception):  # the server goes away under it
                urllib.request.urlopen(u, timeout=30).read()

        threads = [threading.Thread(target=run, args=(u,), daemon=True) for u in hostile * 2]
        for t in threads:
            t.start()
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("the server ignored SIGTERM for 15 s while serving searches")
        assert code is not None


def test_concurrent_hostile_sql_is_refused_and_memory_stays_bounded(archive_path):  # noqa: F811
    """Eight allocation queries at once against a local-mode server (arbitrary SQL on): each is
    refused, the process's peak memory stays far from the gigabytes they ask for, and the
    server answers afterwards."""
    with running_server(archive_path, public=False) as (url, proc):
        urllib.request.urlopen(url + "/archive.json", timeout=30).read()
        statuses: list[object] = []

        def run(sql: str) -> None:
            try:
                urllib.request.urlopen(
                    url + "/archive.json?" + urllib.parse.urlencode({"sql": sql}), timeout=60
                ).read()
                statuses.append(200)
            except urllib.error.HTTPError as err:
                statuses.append(err.code)

        queries = [HOSTILE_SQL[n] for n in ("randomblob", "zeroblob", "ngrams-zeroblob")] * 3
        threads = [threading.Thread(target=run, args=(q,)) for q in queries[:8]]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [400] * 8
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kb = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1])
        assert peak_kb < 768 * 1024, f"peak RSS {peak_kb // 1024} MB"
        assert urllib.request.urlopen(url + "/archive.json", timeout=30).status == 200
