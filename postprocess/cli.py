"""The `nianbao` command: one entry point, a subcommand per job."""

from __future__ import annotations

import sys
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DB = "archive.db"
DEFAULT_DATA = "data"


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
def crawl(sources_path, db_path, data_dir, only, no_build) -> None:
    """Crawl the portals of a sources file into WARC files and archive.db, then build."""
    from crawler.run import run_crawl
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
    summary = run_crawl(sources, db_path=db_path, data_dir=data_dir)
    click.echo(summary.line())
    if not no_build:
        _build(db_path, data_dir)
    if summary.fatal:
        fail(summary.fatal)


def _build(db_path: str, data_dir: str) -> None:
    from postprocess.build import build_archive

    result = build_archive(db_path, data_dir, echo=click.echo)
    click.echo(result.line())


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--data-dir", default=DEFAULT_DATA, show_default=True, type=click.Path())
def build(db_path, data_dir) -> None:
    """Re-run extraction over every archived capture, without crawling (idempotent)."""
    if not Path(db_path).exists():
        fail(f"{db_path} does not exist: run `nianbao crawl` or `nianbao demo` first")
    _build(db_path, data_dir)


@main.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def extract(target, as_json) -> None:
    """Print the extraction of one document (HTML, PDF, DOCX, TXT, Markdown): a path or URL."""
    from postprocess.extract_cli import run_extract

    try:
        output = run_extract(target, as_json=as_json)
    except (OSError, ValueError) as exc:
        fail(str(exc))
    click.echo(output)


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--public", is_flag=True, help="Bind 0.0.0.0 for public hosting (default 127.0.0.1).")
def serve(db_path, port, public) -> None:
    """Serve archive.db with Datasette and metadata.yml (read-only)."""
    from postprocess.publish.serve import serve_archive

    if not Path(db_path).exists():
        fail(f"{db_path} does not exist: run `nianbao crawl` or `nianbao demo` first")
    serve_archive(db_path, port=port, host="0.0.0.0" if public else "127.0.0.1")


@main.command("serve-portal")
@click.option("--port", default=8631, show_default=True, type=int)
def serve_portal(port) -> None:
    """Serve the offline demo portals (TRS, Hanweb, generic) on 127.0.0.x."""
    from crawler.demo.server import serve_forever

    serve_forever(port)


@main.command()
@click.option("--db", "db_path", default=DEFAULT_DB, show_default=True, type=click.Path())
@click.option("--data-dir", default=DEFAULT_DATA, show_default=True, type=click.Path())
@click.option("--portal-port", default=8631, show_default=True, type=int)
@click.option("--port", default=8001, show_default=True, type=int, help="Datasette port.")
@click.option("--no-serve", is_flag=True, help="Build the demo archive and stop.")
def demo(db_path, data_dir, portal_port, port, no_serve) -> None:
    """Crawl the offline demo portals, build archive.db and serve it with Datasette."""
    from crawler.demo.server import demo_sources, running_portal
    from crawler.run import run_crawl

    with running_portal(portal_port) as bound_port:
        click.echo(f"demo portals serving on port {bound_port}")
        summary = run_crawl(demo_sources(bound_port), db_path=db_path, data_dir=data_dir)
    click.echo(summary.line())
    if summary.fatal:
        fail(summary.fatal)
    _build(db_path, data_dir)
    if not no_serve:
        from postprocess.publish.serve import serve_archive

        serve_archive(db_path, port=port, host="127.0.0.1")


if __name__ == "__main__":
    main()
