"""A new archive is made from postprocess/storage/schema.sql, not by replaying the migrations:
the file must be exactly what the migrations make, and the archive it makes the same as theirs."""

import sqlite3

import pytest
from sqlite_utils import Database

from postprocess.storage import db as archive_db

REWRITE = (
    ".venv/bin/python -c 'from sqlite_utils import Database; from postprocess.storage import db; "
    "d = Database(memory=True); db.migrations.apply(d); "
    'db.SCHEMA_FILE.write_text(db.schema_script(d.conn), encoding="utf-8")\''
)


def replayed(path=None, **apply) -> Database:
    """A database every migration (or those before `stop_before`) was applied to, one by one."""
    db = Database(str(path)) if path else Database(memory=True)
    archive_db.migrations.apply(db, **apply)
    return db


def state(conn: sqlite3.Connection) -> dict:
    """What a schema is: every sqlite_master row (FTS5's own tables too), the migrations
    recorded, the FTS5 configuration, the user version."""
    return {
        "master": sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master")),
        "migrations": conn.execute(
            "SELECT migration_set, name FROM _sqlite_migrations ORDER BY id"
        ).fetchall(),
        "fts_config": sorted(conn.execute("SELECT k, v FROM reports_fts_config")),
        "user_version": conn.execute("PRAGMA user_version").fetchone(),
        # rows per table: a new archive holds none but FTS5's own (its configuration)
        "rows": {
            name: conn.execute(f"SELECT count(*) FROM [{name}]").fetchone()[0]
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name != '_sqlite_migrations'"
            )
        },
    }


def test_schema_file_is_what_the_migrations_make():
    script = archive_db.schema_script(replayed().conn)
    assert archive_db.SCHEMA_FILE.read_text("utf-8") == script, (
        f"{archive_db.SCHEMA_FILE} is not what the migrations make; write it again with\n{REWRITE}"
    )


def test_new_archive_is_the_archive_the_migrations_make(tmp_path, monkeypatch):
    made = []
    create = archive_db.create_from_schema
    monkeypatch.setattr(archive_db, "create_from_schema", lambda db: made.append(create(db)))
    new = archive_db.open_db(tmp_path / "new.db")
    assert made, "a new archive was not made from the schema file"
    old = replayed(tmp_path / "replayed.db")
    assert state(new.conn) == state(old.conn)
    # applied_at is written as Migrations.apply writes it
    stamps = [r[0] for r in new.execute("SELECT applied_at FROM _sqlite_migrations")]
    assert all(s.endswith("+00:00") and s[:4].isdigit() for s in stamps)
    # and the archive works: reopened, nothing is pending; a capture row goes in
    new.close()
    again = archive_db.open_db(tmp_path / "new.db")
    assert archive_db.migrations.pending(again) == []
    assert len(made) == 1
    archive_db.upsert_sources(again, [{"id": "s", "agency": "a", "start_urls": []}])
    crawl = archive_db.start_crawl(again, ["s"])
    assert crawl == 1


def test_migrations_newer_than_the_schema_file_are_applied_after_it(tmp_path):
    """A migration added without writing the file again still reaches a new archive."""
    older = archive_db.schema_script(replayed(stop_before="m_cells_compact").conn)
    assert "cell_prints" not in older
    new = Database(str(tmp_path / "new.db"))
    archive_db.create_from_schema(new, older)
    assert [m.name for m in archive_db.migrations.pending(new)] == ["m_cells_compact"]
    archive_db.migrations.apply(new)
    assert state(new.conn) == state(replayed(tmp_path / "replayed.db").conn)


def test_a_schema_that_fails_leaves_the_archive_empty(tmp_path):
    broken = archive_db.SCHEMA_FILE.read_text("utf-8") + "CREATE TABLE reports (id);\n"
    db = Database(str(tmp_path / "new.db"))
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
        archive_db.create_from_schema(db, broken)
    assert db.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    db.close()
    # the next open makes it whole
    db = archive_db.open_db(tmp_path / "new.db")
    assert state(db.conn) == state(replayed(tmp_path / "replayed.db").conn)
