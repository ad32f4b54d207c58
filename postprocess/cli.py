"""The `nianbao` command: one entry point, a subcommand per job."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DB = "archive.db"
DEFAULT_DATA = "data"
PORT = click.IntRange(1, 65535)
# seconds for `nianbao extract` on one document, fetch included
EXTRACT_DEADLINE = float(os.environ.get("NIANBAO_EXTRACT_DEADLINE") or 120)


def fail(message: str) -> None:
    """Exit non-zero with a one-line reason."""
    click.echo(f"nianbao: error: {message}", err=True)
    sys.exit(1)


@click.group()
@click.version_option(package_name="nianbao")
def main() -> None:
    """nianbao (年报): archive of Chinese government information-disclosure annual reports."""


@main.command()
@click.option(
    "--sources",
    "sources_path",
    type=click.Path(dir_okay=False),
    help="Sources file (default: crawler/sources.yml).",
)
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--data-dir", default=DEFAULT_DATA, show_default=True, type=click.Path())
@click.option("--only", multiple=True, help="Crawl only these source ids (repeatable).")
@click.option("--no-build", is_flag=True, help="Only crawl; do not rebuild reports.")
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    help="Work as one of several workers sharing a frontier in Redis (redis://host:6379/0).",
)
@click.option(
    "--run-name", help="With --redis: the crawl the workers share (default: today's UTC date)."
)
@click.option("--worker", help="With --redis: this worker's name (default: host-pid).")
def crawl(sources_path, db_path, data_dir, only, no_build, redis_url, run_name, worker) -> None:
    """Crawl the portals of a sources file into WARC files and archive.db, then build."""
    from crawler.run import run_crawl, worker_settings
    from crawler.sources import DEFAULT_SOURCES, SourceError, load_sources

    try:
        sources = load_sources(sources_path or DEFAULT_SOURCES)
    except SourceError as exc:
        fail(str(exc))
    if only:
        unknown = set(only) - {s.id for s in sources}
        if unknown:
            fail(f"no source with id {', '.join(sorted(unknown))}")
        sources = [s for s in sources if s.id in only]
    try:
        overrides = worker_settings(redis_url, run_name, worker)
    except ValueError as exc:
        fail(str(exc))
    summary = run_crawl(sources, db_path=db_path, data_dir=data_dir, settings=overrides)
    click.echo("\n".join(summary.lines()))
    if summary.fatal:
        # a crawl stopped by a storage failure is not built over: run the same command again
        fail(summary.fatal)
    if redis_url and not no_build:
        # Peers may still be writing captures: one build after the last worker ends.
        click.echo("distributed worker: run `nianbao build` once every worker has finished")
    elif not no_build:
        _build(db_path, data_dir)


def _build(db_path: str, data_dir: str, jobs: int | None = None) -> None:
    from postprocess.build import BuildError, build_archive

    try:
        result = build_archive(db_path, data_dir, echo=click.echo, jobs=jobs)
    except BuildError as exc:
        fail(f"build refused, {db_path} left as it was: {exc}")
    except sqlite3.Error as exc:
        fail(f"cannot build {db_path}: {exc}")
    except OSError as exc:
        fail(f"cannot build {db_path}: {exc.strerror or exc}")
    click.echo(result.line())


def _check_sqlite(db_path: str) -> None:
    """Fail in one line when db_path is not a readable SQLite database."""
    try:
        con = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        fail(f"cannot open {db_path}: {exc}")


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--data-dir", default=DEFAULT_DATA, show_default=True, type=click.Path())
def verify(db_path, data_dir) -> None:
    """Check WARC files against archive.db: every record has its capture, every capture a record."""
    from postprocess.storage.verify import verify_archive

    try:
        result = verify_archive(db_path, data_dir)
    except (OSError, sqlite3.Error) as exc:
        fail(f"cannot verify: {exc}")
    click.echo("\n".join(result.lines()))
    if not result.ok:
        sys.exit(1)


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--data-dir", default=DEFAULT_DATA, show_default=True, type=click.Path())
@click.option(
    "--jobs", type=click.IntRange(min=1), help="Parser processes (default: one per core)."
)
def build(db_path, data_dir, jobs) -> None:
    """Re-run extraction over every archived capture, without crawling (idempotent)."""
    if not Path(db_path).exists():
        fail(f"{db_path} does not exist: run `nianbao crawl` or `nianbao demo` first")
    _build(db_path, data_dir, jobs)


@main.command()
@click.argument("worker_db", type=click.Path())
@click.argument("worker_data_dir", type=click.Path())
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--data-dir", default=DEFAULT_DATA, show_default=True, type=click.Path())
def merge(worker_db, worker_data_dir, db_path, data_dir) -> None:
    """Add a distributed worker's captures and WARC files (from another host) to this archive."""
    import sqlite3

    from postprocess.storage import db as archive
    from postprocess.storage.merge import MergeError, merge_archive

    try:
        result = merge_archive(archive.open_db(db_path), data_dir, worker_db, worker_data_dir)
    except (MergeError, OSError, sqlite3.Error) as exc:
        fail(str(exc))
    click.echo(result.line())


@main.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def extract(target, as_json) -> None:
    """Print the extraction of one document (HTML, PDF, DOCX, TXT, Markdown): a path or URL."""
    import concurrent.futures

    from postprocess.extract_cli import run_extract_checked

    # an overall deadline (fetch and parse): a slow URL or a pathological file ends with an error
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run_extract_checked, target, as_json=as_json)
    try:
        output, found = future.result(timeout=EXTRACT_DEADLINE)
    except concurrent.futures.TimeoutError:
        deadline = f"no result within {EXTRACT_DEADLINE:g} s (deadline)"
        click.echo(f"nianbao: error: {target}: {deadline}", err=True)
        sys.stdout.flush()
        os._exit(1)  # the worker thread cannot be interrupted; do not wait for it
    except (OSError, ValueError) as exc:
        fail(str(exc))
    finally:
        pool.shutdown(wait=False)
    click.echo(output)
    if not found:
        fail(f"{target}: no report found (no title, year, table or figure)")


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--port", default=8001, show_default=True, type=PORT)
@click.option(
    "--public",
    is_flag=True,
    help="Public hosting: bind 0.0.0.0, arbitrary SQL off, debug pages off (default: local).",
)
@click.option("--allow-sql", is_flag=True, help="Keep arbitrary SQL on in --public mode.")
@click.option(
    "--memory-limit",
    type=int,
    default=None,
    help="Memory ceiling of the server in MB, 0 for none (default 2048, NIANBAO_SERVE_MEMORY_MB).",
)
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(),
    help="Where the WARC files are, for the archived originals (default: data/ beside the db).",
)
def serve(db_path, port, public, allow_sql, memory_limit, data_dir) -> None:
    """Serve archive.db with Datasette and metadata.yml (read-only)."""
    from postprocess.publish.serve import serve_archive

    if not Path(db_path).exists():
        fail(f"{db_path} does not exist: run `nianbao crawl` or `nianbao demo` first")
    _check_sqlite(db_path)
    serve_archive(
        db_path,
        port=port,
        host="0.0.0.0" if public else "127.0.0.1",
        public=public,
        allow_sql=True if allow_sql else None,
        memory_mb=memory_limit,
        data_dir=data_dir,
    )


@main.command("serve-portal")
@click.option("--port", default=8631, show_default=True, type=PORT)
def serve_portal(port) -> None:
    """Serve the offline demo portals (TRS, Hanweb, generic) on 127.0.0.x."""
    from crawler.demo.server import serve_forever

    try:
        serve_forever(port)
    except OSError as exc:
        fail(str(exc))


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--data-dir", default=DEFAULT_DATA, show_default=True, type=click.Path())
@click.option("--portal-port", default=8631, show_default=True, type=click.IntRange(0, 65535))
@click.option("--port", default=8001, show_default=True, type=PORT, help="Datasette port.")
@click.option("--no-serve", is_flag=True, help="Build the demo archive and stop.")
def demo(db_path, data_dir, portal_port, port, no_serve) -> None:
    """Crawl the offline demo portals, build archive.db and serve it with Datasette."""
    from crawler.demo.server import demo_sources, running_portal
    from crawler.run import run_crawl

    with running_portal(portal_port) as bound_port:
        click.echo(f"demo portals serving on port {bound_port}")
        summary = run_crawl(demo_sources(bound_port), db_path=db_path, data_dir=data_dir)
    click.echo("\n".join(summary.lines()))
    if summary.fatal:
        fail(summary.fatal)
    _build(db_path, data_dir)
    if not no_serve:
        from postprocess.publish.serve import serve_archive

        serve_archive(db_path, port=port, host="127.0.0.1", data_dir=data_dir)


if __name__ == "__main__":
    main()
