"""Bad input to the `nianbao` command ends in one line on stderr and a non-zero exit, never a
traceback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from hashlib import sha256
from pathlib import Path

import pytest
import yaml
from conftest import REPO

SOURCE = {
    "id": "bad",
    "agency": "某区人民政府",
    "division_code": "230111",
    "level": "county",
    "cms": "generic",
    "start_urls": ["http://www.example.gov.cn/gknb/index.html"],
}


def _nianbao(*args: str, env: dict | None = None, timeout: float = 120):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    return subprocess.run(
        [sys.executable, "-m", "postprocess.cli", *args],
        cwd=REPO,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _one_line_error(proc, code: int = 1) -> str:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_build_on_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    db.write_bytes(b"this is a text file, not a database\n" * 50)
    line = _one_line_error(_nianbao("build", "--db", str(db), "--data-dir", str(tmp_path)))
    assert line == (
        f"nianbao: error: build refused, {db} left as it was: "
        f"{db} is not a readable archive: file is not a database"
    )


def test_serve_port_out_of_range() -> None:
    proc = _nianbao("serve", "--port", "99999")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--port': 99999 is not in the range 1<=x<=65535."
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"start_urls": ["http://[::1/gknb/index.html"]},
            "field 'start_urls': not an http(s) URL (Invalid IPv6 URL): "
            "'http://[::1/gknb/index.html'",
        ),
        ({"encoding": "rot13"}, "field 'encoding': 'rot13' is not a text charset"),
    ],
)
def test_crawl_refuses_bad_sources_entry(tmp_path: Path, change: dict, message: str) -> None:
    sources = tmp_path / "sources.yml"
    sources.write_text(yaml.safe_dump({"sources": [{**SOURCE, **change}]}), encoding="utf-8")
    line = _one_line_error(
        _nianbao("crawl", "--sources", str(sources), "--db", str(tmp_path / "a.db"))
    )
    assert line == f"nianbao: error: {sources}: entry #1 ('bad'): {message}"


def _read_only(path: Path) -> None:
    """Make a file unwritable, for root too (the immutable flag) when run as root."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: no way to make a file read-only here")
    subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)


def test_crawl_into_a_read_only_database(tmp_path: Path, demo_archive_path: Path) -> None:
    db = tmp_path / "archive.db"
    shutil.copy(demo_archive_path, db)
    sources = tmp_path / "sources.yml"
    sources.write_text(yaml.safe_dump({"sources": [SOURCE]}), encoding="utf-8")
    _read_only(db)
    try:
        proc = _nianbao("crawl", "--sources", str(sources), "--db", str(db), "--no-build")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db)], check=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"nianbao: error: cannot use {db}: attempt to write a readonly database"
    )


@pytest.mark.parametrize(
    ("name", "body", "reason"),
    [
        ("empty.html", b"", "no readable text in it"),
        ("binary.txt", b"".join(sha256(b"%d" % i).digest() for i in range(100)), "not text: "),
        ("hello.txt", "你好，世界。".encode(), None),
    ],
)
def test_extract_exits_non_zero_on_junk(tmp_path: Path, name, body, reason) -> None:
    path = tmp_path / name
    path.write_bytes(body)
    proc = _nianbao("extract", str(path))
    line = _one_line_error(proc)
    if reason is None:
        assert line == f"nianbao: error: {path}: no report found (no title, year, table or figure)"
    else:
        assert line.startswith(f"nianbao: error: cannot read {path}: {reason}")


def test_extract_has_an_overall_deadline_on_a_slow_url() -> None:
    """A server that trickles one byte a second never trips a socket timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
        )
        while not stop.is_set():
            try:
                conn.sendall(b"x")
            except OSError:
                break
            time.sleep(0.5)
        conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/report.html"
    started = time.monotonic()
    try:
        proc = _nianbao("extract", url, env={"NIANBAO_EXTRACT_DEADLINE": "2"}, timeout=60)
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 30
    assert _one_line_error(proc) == f"nianbao: error: {url}: no result within 2 s (deadline)"


def test_serve_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    db.write_bytes(b"this is a text file, not a database\n" * 50)
    line = _one_line_error(_nianbao("serve", "--db", str(db), "--port", "18999"))
    assert line == f"nianbao: error: cannot open {db}: file is not a database"
