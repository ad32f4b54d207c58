"""Re-crawl cost: requests and bytes of a second crawl of the unchanged demo portals, as a share
of the first crawl, with revalidation (If-None-Match / If-Modified-Since from archive.db, 304s
answered from our WARC) and without it (NIANBAO_REVALIDATE=false, every body fetched again).

    .venv/bin/python benchmarks/recrawl.py [--runs 2]

Requests are the responses and failures the capture middleware saw from the network; bytes are
response bodies as received (before Content-Encoding is undone). robots.txt is fetched afresh
every run and counted.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.demo.server import running_portal  # noqa: E402

FAST = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_START_DELAY": "0",
    "AUTOTHROTTLE_MAX_DELAY": "0.5",
    "NIANBAO_PROGRESS_INTERVAL": "0",
}


def crawl(port: int, root: Path, extra: dict[str, str]) -> tuple[list[str], float]:
    command = [sys.executable, "-m", "crawler.run", "--demo-port", str(port)]
    command += ["--db", str(root / "archive.db"), "--data-dir", str(root / "data")]
    for key, value in {**FAST, **extra}.items():
        command += ["--set", f"{key}={value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed: {proc.stderr[-2000:]}")
    return command, time.perf_counter() - started


def totals(root: Path) -> list[dict]:
    con = sqlite3.connect(root / "archive.db")
    rows = con.execute("SELECT stats FROM crawls ORDER BY id").fetchall()
    con.close()
    return [json.loads(r[0]) for r in rows]


def measure(port: int, revalidate: bool) -> tuple[list[str], dict, dict, float, float]:
    with tempfile.TemporaryDirectory(prefix="nianbao-recrawl-") as tmp:
        root = Path(tmp)
        extra = {} if revalidate else {"NIANBAO_REVALIDATE": "false"}
        _, first_s = crawl(port, root, extra)
        command, second_s = crawl(port, root, extra)
        first, second = totals(root)
    return command, first, second, first_s, second_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="repeat and report each run")
    args = parser.parse_args()
    print(f"$ {' '.join([Path(sys.executable).name, *sys.argv])}")
    with running_portal(0) as port:
        for run in range(1, args.runs + 1):
            for revalidate in (True, False):
                command, first, second, first_s, second_s = measure(port, revalidate)
                label = "revalidating" if revalidate else "no revalidation"
                print(f"run {run}, {label}: second crawl = {' '.join(command[1:])}")
                req = 100 * second["fetched"] / first["fetched"]
                byt = 100 * second["bytes"] / first["bytes"]
                print(
                    f"  first crawl:  {first['fetched']} requests, {first['bytes']:,} bytes, "
                    f"{first_s:.1f} s"
                )
                print(
                    f"  re-crawl:     {second['fetched']} requests ({req:.0f}%), "
                    f"{second['bytes']:,} bytes ({byt:.1f}%), {second_s:.1f} s; "
                    f"{second.get('unchanged', 0)} unchanged, {second.get('changed', 0)} "
                    f"changed, {second.get('new', 0)} new"
                )


if __name__ == "__main__":
    main()
