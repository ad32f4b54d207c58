"""`nianbao serve`: publish archive.db read-only with Datasette, metadata.yml and our plugin."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
METADATA = REPO / "metadata.yml"

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
}


def load_metadata(path: str | Path = METADATA) -> dict:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def make_datasette(db_path: str | Path, metadata_path: str | Path = METADATA):
    """A Datasette over db_path, read-only (no write endpoints), that follows a rebuilt file
    swapped in by `nianbao build` (postprocess/publish/swap.py)."""
    from datasette.app import Datasette

    from postprocess.publish import plugin  # noqa: F401  (registered via entry point)
    from postprocess.publish.swap import SwappableDatabase

    ds = Datasette(
        files=[str(db_path)],
        metadata=load_metadata(metadata_path),
        settings=SETTINGS,
    )
    name = Path(db_path).stem
    ds.remove_database(name)
    ds.add_database(SwappableDatabase(ds, db_path), name=name)
    return ds


def serve_archive(db_path: str | Path, port: int = 8001, host: str = "127.0.0.1") -> None:
    """Serve db_path with Datasette until interrupted (blocking)."""
    import uvicorn

    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(f"{db_path} does not exist")
    ds = make_datasette(db_path)
    print(f"nianbao: serving {db_path} read-only at http://{host}:{port}/{db_path.stem}")
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning")
