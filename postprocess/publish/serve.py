"""`nianbao serve`: publish archive.db read-only with Datasette, metadata.yml and our plugin.

Public mode (`--public`) is for the open web: arbitrary SQL off (canned queries, table views,
facets and search stay), debug and introspection pages answer 404 (they list absolute paths,
threads, the actor), and the process runs under a memory ceiling. Security headers are sent in
every mode.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import sys
from pathlib import Path
from typing import Any

import yaml
from datasette import hookimpl

REPO = Path(__file__).resolve().parents[2]
METADATA = REPO / "metadata.yml"
CONFIG_KEY = "nianbao-serve"

# Datasette settings for public hosting: bounded queries, no downloads of the whole file needed.
SETTINGS = {
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 500,
    # Facets are chosen in metadata.yml; suggesting more costs a query per column on every page.
    "suggest_facets": False,
    "max_returned_rows": 1000,
    "default_page_size": 50,
    "truncate_cells_html": 0,
    "allow_download": True,
    "default_allow_sql": True,
    # One slow search holds a SQL thread per query it runs (page, count, facets): enough threads
    # that other readers' queries do not queue behind it. SQLite releases the GIL while it works.
    "num_sql_threads": 8,
}

# The address space of the serving process (MB); env NIANBAO_SERVE_MEMORY_MB or --memory-limit.
DEFAULT_MEMORY_MB = 2048
# SQLite's own heap inside that ceiling: a query past it fails with "out of memory".
SQLITE_HEAP_SHARE = 0.5

# Every /-/ page is introspection or debugging except these, which pages and charts need.
PUBLIC_DASH_PREFIXES = ("/-/static/", "/-/static-plugins/", "/-/nianbao/")

# Datasette's templates carry inline scripts and styles; everything else comes from this origin.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


def load_metadata(path: str | Path = METADATA) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def make_datasette(
    db_path: str | Path,
    metadata_path: str | Path = METADATA,
    *,
    public: bool = False,
    allow_sql: bool | None = None,
    data_dir: str | Path | None = None,
) -> Any:
    """A Datasette over db_path, read-only (no write endpoints), that follows a rebuilt file
    swapped in by `nianbao build` (postprocess/publish/swap.py).

    public: hide debug pages and turn arbitrary SQL off unless allow_sql is True. data_dir holds
    the WARC files of the archived originals (default: data/ beside db_path).
    """
    from datasette.app import Datasette
    from datasette.plugins import pm

    from postprocess.publish import plugin  # noqa: F401  (registered via entry point)
    from postprocess.publish.swap import SwappableDatabase

    if not pm.is_registered(sys.modules[__name__]):
        pm.register(sys.modules[__name__], name="nianbao_serve")
    metadata = load_metadata(metadata_path)
    plugins = metadata.setdefault("plugins", {})
    plugins[CONFIG_KEY] = {"public": public}
    if data_dir is not None:
        plugins.setdefault("nianbao", {})["data_dir"] = str(Path(data_dir).resolve())
    settings = dict(SETTINGS)
    settings["default_allow_sql"] = (not public) if allow_sql is None else allow_sql
    ds = Datasette(files=[str(db_path)], metadata=metadata, settings=settings)
    name = Path(db_path).stem
    ds.remove_database(name)
    ds.add_database(SwappableDatabase(ds, db_path), name=name)
    return ds


def is_public(datasette: Any) -> bool:
    return bool((datasette.plugin_config(CONFIG_KEY) or {}).get("public"))


def hidden_in_public(path: str) -> bool:
    """A debug or introspection page that public mode answers with 404."""
    return path.startswith("/-/") and not path.startswith(PUBLIC_DASH_PREFIXES)


@hookimpl(trylast=True)
def asgi_wrapper(datasette: Any) -> Any:
    # trylast: applied after the other wrappers, so it is the outermost and sees every response.
    def wrap(app: Any) -> Any:
        async def wrapped(scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await app(scope, receive, send)
            if is_public(datasette) and hidden_in_public(scope.get("path", "")):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 404,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")]
                        + SECURITY_HEADERS,
                    }
                )
                return await send({"type": "http.response.body", "body": b"Not found"})

            async def with_headers(message: dict) -> None:
                if message["type"] == "http.response.start":
                    names = {k.lower() for k, _ in message.get("headers", [])}
                    extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
                await send(message)

            return await app(scope, receive, with_headers)

        return wrapped

    return wrap


def memory_limit_mb(value: int | None = None) -> int:
    """The memory ceiling in MB: the argument, else NIANBAO_SERVE_MEMORY_MB, else the default."""
    if value is not None:
        return value
    env = os.environ.get("NIANBAO_SERVE_MEMORY_MB")
    return int(env) if env else DEFAULT_MEMORY_MB


def apply_memory_limit(megabytes: int) -> None:
    """Cap this process's address space (0 = no cap) and SQLite's heap inside it.

    Past the cap an allocation fails (MemoryError, SQLite "out of memory"): the request that
    asked for it gets an error and the server keeps serving.
    """
    if megabytes <= 0:
        return
    limit = megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    with sqlite3.connect(":memory:") as conn:  # the heap limit is process-wide
        conn.execute(f"PRAGMA hard_heap_limit = {int(limit * SQLITE_HEAP_SHARE)}")


def serve_archive(
    db_path: str | Path,
    port: int = 8001,
    host: str = "127.0.0.1",
    *,
    public: bool = False,
    allow_sql: bool | None = None,
    memory_mb: int | None = None,
    data_dir: str | Path | None = None,
) -> None:
    """Serve db_path with Datasette until interrupted (blocking)."""
    import uvicorn

    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"{db_path} does not exist")
    ceiling = memory_limit_mb(memory_mb)
    apply_memory_limit(ceiling)
    ds = make_datasette(db_path, public=public, allow_sql=allow_sql, data_dir=data_dir)
    mode = "public: arbitrary SQL " + ("on" if ds.setting("default_allow_sql") else "off")
    print(
        f"nianbao: serving {db_path} read-only at http://{host}:{port}/{db_path.stem} "
        f"({mode if public else 'local'}; memory ceiling "
        f"{f'{ceiling} MB' if ceiling > 0 else 'none'})"
    )
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning")
